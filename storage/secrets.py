"""Secrets: channel credentials from Secrets Manager, cached in the process for a TTL.

One secret per channel, `<prefix>/channels/<channel>` (the Terraform creates them empty; the operator
puts the values), each a JSON object of `CLAWBUS_*` variable names to values
(`{"CLAWBUS_TELEGRAM__BOT_TOKEN": "..."}`). A read is cached for `ttl_s`, so a busy process makes one
call per secret per TTL, and a rotated value is picked up within one TTL. Values come out as
`SecretStr`: printing or logging them shows asterisks; `.get_secret_value()` belongs on the line that
uses one. In the embedded default, `seed_channel_secrets` (`secret_seed.py`) fills the secrets from the
environment the first time.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pydantic import SecretStr

from clawbus.bus.aws import map_aws_errors
from clawbus.bus.errors import ConfigError, TargetGone

if TYPE_CHECKING:
    from types_aiobotocore_secretsmanager import SecretsManagerClient

ENV_PREFIX = "CLAWBUS_"


def channel_secret_name(prefix: str, channel: str) -> str:
    """`<prefix>/channels/<channel>`: one channel's credentials (as the Terraform names them)."""
    return f"{prefix}/channels/{channel}"


def parse_secret(secret_id: str, text: str, *, settings: bool = True) -> dict[str, str]:
    """The `CLAWBUS_*` variables in one secret's JSON; `ConfigError` names the secret when it is wrong.

    An empty object is allowed (a channel whose values the operator has not set yet). With
    `settings=False` any names are allowed (the WhatsApp auth state holds one value per file).
    """
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"secret {secret_id} is not a JSON object of CLAWBUS_* names to values "
            "(see docs/deploy.md, 'Set the secrets')"
        ) from exc
    if not isinstance(values, dict):
        raise ConfigError(f"secret {secret_id} must be a JSON object, not {type(values).__name__}")
    wrong = sorted(
        k for k, v in values.items() if (settings and not k.startswith(ENV_PREFIX)) or not isinstance(v, str)
    )
    if wrong:
        raise ConfigError(
            f"secret {secret_id}: keys must start with {ENV_PREFIX} and values be strings: {wrong}"
        )
    return dict(values)


class SecretStore(Protocol):
    """Named secrets, each a mapping of variable names to values. Safe to call as often as needed."""

    async def get(self, secret_id: str) -> Mapping[str, SecretStr]:
        """The secret's values; `TargetGone` when it does not exist, `ConfigError` when malformed."""
        ...


@dataclass(frozen=True)
class _Cached:
    values: Mapping[str, SecretStr]
    until: float


class SecretsManagerStore:
    """`SecretStore` on Secrets Manager with an in-process cache of `ttl_s` (0: no cache)."""

    def __init__(
        self, client: SecretsManagerClient, *, ttl_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[str, _Cached] = {}
        self._lock = asyncio.Lock()  # one fetch per secret at a time, not one per caller

    async def get(self, secret_id: str) -> Mapping[str, SecretStr]:
        """See `SecretStore.get`; served from the cache until the TTL runs out."""
        async with self._lock:
            cached = self._cache.get(secret_id)
            if cached is not None and self._clock() < cached.until:
                return cached.values
            values = await self._fetch(secret_id)
            self._cache[secret_id] = _Cached(values, self._clock() + self._ttl_s)
            return values

    async def put(self, secret_id: str, values: Mapping[str, str]) -> None:
        """Store `values` as the secret's new version (creating the secret when it does not exist); the
        cached copy is dropped so this process reads the new values next."""
        text = json.dumps(dict(values))
        with map_aws_errors(f"PutSecretValue {secret_id}"):
            try:
                await self._client.put_secret_value(SecretId=secret_id, SecretString=text)
            except self._client.exceptions.ResourceNotFoundException:
                await self._client.create_secret(Name=secret_id, SecretString=text)
        async with self._lock:
            self._cache.pop(secret_id, None)

    async def names(self, prefix: str) -> list[str]:
        """The names of the secrets that start with `prefix`, sorted."""
        found: list[str] = []
        with map_aws_errors(f"ListSecrets {prefix}"):
            paginator = self._client.get_paginator("list_secrets")
            async for page in paginator.paginate(Filters=[{"Key": "name", "Values": [prefix]}]):
                found.extend(
                    s["Name"] for s in page.get("SecretList", []) if s.get("Name", "").startswith(prefix)
                )
        return sorted(found)

    async def get_document(self, secret_id: str) -> Mapping[str, SecretStr]:
        """A secret's values whatever their names (not cached): the WhatsApp auth state's files."""
        return await self._fetch(secret_id, settings=False)

    async def _fetch(self, secret_id: str, *, settings: bool = True) -> Mapping[str, SecretStr]:
        with map_aws_errors(f"GetSecretValue {secret_id}"):
            try:
                response = await self._client.get_secret_value(SecretId=secret_id)
            except self._client.exceptions.ResourceNotFoundException as exc:
                raise TargetGone(
                    f"secret {secret_id} does not exist — create it (docs/deploy.md, 'Set the secrets') "
                    "or remove it from CLAWBUS_SECRET_IDS"
                ) from exc
        text = response.get("SecretString")
        if not isinstance(text, str):
            raise ConfigError(f"secret {secret_id} has no string value; store a JSON object")
        parsed = parse_secret(secret_id, text, settings=settings)
        return {name: SecretStr(value) for name, value in parsed.items()}
