"""Filling the channel secrets from the environment: the embedded default's first start.

In AWS the operator puts each channel's credentials into `<prefix>/channels/<channel>` (docs/deploy.md).
The embedded default has no operator step: `clawbus up` creates each secret that does not exist yet from
the channel's `CLAWBUS_<CHANNEL>__*` secret settings (an empty object for a channel without any), so the
stages read credentials through the same `SecretStore` as in AWS. An existing secret is left alone.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pydantic import BaseModel, SecretStr

from clawbus.bus.aws import map_aws_errors
from clawbus.bus.settings import Settings
from clawbus.channels.registry import all_channels, spec
from clawbus.storage.secrets import ENV_PREFIX, channel_secret_name

if TYPE_CHECKING:
    from types_aiobotocore_secretsmanager import SecretsManagerClient


def channel_values(settings: Settings, channel: str) -> dict[str, str]:
    """The channel's secret settings that are set, by variable name (`CLAWBUS_TELEGRAM__BOT_TOKEN`)."""
    section: BaseModel = spec(channel).settings(settings)
    values: dict[str, str] = {}
    for name in type(section).model_fields:
        value = getattr(section, name)
        if isinstance(value, SecretStr):
            values[f"{ENV_PREFIX}{channel.upper()}__{name.upper()}"] = value.get_secret_value()
    return values


async def seed_channel_secrets(client: SecretsManagerClient, settings: Settings) -> list[str]:
    """Create every channel's secret that does not exist yet; the names created (values never logged)."""
    created: list[str] = []
    for channel in (c.name for c in all_channels()):
        name = channel_secret_name(settings.bus.prefix, channel)
        with map_aws_errors(f"CreateSecret {name}"):
            try:
                await client.create_secret(
                    Name=name, SecretString=json.dumps(channel_values(settings, channel))
                )
            except client.exceptions.ResourceExistsException:
                continue
        created.append(name)
    return created
