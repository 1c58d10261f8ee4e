"""The channel credentials in an OpenClaw directory (openclaw.json keys and `.env` variables) and how they
map onto clawbus's channel secrets; the config without them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Credential:
    """One channel credential: where `openclaw.json` keeps it (`channels.<channel>.<key>`), the `.env`
    fallback OpenClaw reads, and the clawbus setting (`CLAWBUS_<CHANNEL>__<SETTING>`) it becomes."""

    channel: str
    key: str
    setting: str
    env: str | None = None

    @property
    def variable(self) -> str:
        """The clawbus env var name, as the channel's secret stores it."""
        return f"CLAWBUS_{self.channel.upper()}__{self.setting}"


CREDENTIALS = (
    Credential("telegram", "botToken", "BOT_TOKEN", "TELEGRAM_BOT_TOKEN"),
    Credential("telegram", "webhookSecret", "WEBHOOK_SECRET"),
    Credential("slack", "botToken", "BOT_TOKEN", "SLACK_BOT_TOKEN"),
    Credential("slack", "appToken", "APP_TOKEN", "SLACK_APP_TOKEN"),
    Credential("slack", "signingSecret", "SIGNING_SECRET", "SLACK_SIGNING_SECRET"),
    Credential("discord", "token", "BOT_TOKEN", "DISCORD_BOT_TOKEN"),
)


def channel_secrets(config: Mapping[str, Any] | None, env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Channel credentials found in `openclaw.json` and `.env`, as clawbus setting names per channel.

    `{"telegram": {"CLAWBUS_TELEGRAM__BOT_TOKEN": "…"}}` — the shape of one Secrets Manager secret per
    channel (`bus/secret_env.py`). Only the default account's credentials map onto clawbus settings;
    the config's value wins over the `.env` fallback.
    """
    channels = (config or {}).get("channels", {})
    found: dict[str, dict[str, str]] = {}
    for credential in CREDENTIALS:
        block = channels.get(credential.channel) if isinstance(channels, Mapping) else None
        configured = block.get(credential.key) if isinstance(block, Mapping) else None
        for value in (configured, env.get(credential.env) if credential.env else None):
            if isinstance(value, str) and value:
                found.setdefault(credential.channel, {})[credential.variable] = value
                break
    return found


def without_secrets(config: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of `config` with the channel credentials (`CREDENTIALS`) removed."""
    copy: dict[str, Any] = json.loads(json.dumps(config))
    channels = copy.get("channels")
    if isinstance(channels, dict):
        for credential in CREDENTIALS:
            block = channels.get(credential.channel)
            if isinstance(block, dict):
                block.pop(credential.key, None)
    return copy
