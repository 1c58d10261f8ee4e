"""Start a process with its channel credentials loaded from Secrets Manager into `CLAWBUS_*` variables.

In AWS, bot tokens and signing secrets live in Secrets Manager, one secret per channel, each a JSON
object of environment names to values (`{"CLAWBUS_TELEGRAM__BOT_TOKEN": "..."}`). The Terraform never
sees the values: it passes only the secrets' ARNs, in `CLAWBUS_SECRET_IDS` (comma separated). This module
is the container's entry point in front of the real command (the Lambda runtime's
`/lambda-entrypoint.sh`, or `clawbus relay`): it reads the secrets once through the `SecretStore`
(`storage/secrets.py`), adds their values to the environment, and replaces itself with the command,
so `Settings` reads them like any other variable.

    python -m clawbus.bus.secret_env /lambda-entrypoint.sh clawbus.ingress.lambda_handler.handler
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping, Sequence

from clawbus.bus.errors import ConfigError
from clawbus.storage.secrets import SecretStore, parse_secret

SECRET_IDS_VAR = "CLAWBUS_SECRET_IDS"  # noqa: S105  # a variable name, not a secret

__all__ = ["SECRET_IDS_VAR", "load", "main", "parse_secret", "secret_ids"]


def secret_ids(environ: Mapping[str, str]) -> list[str]:
    """The secret ARNs or names listed in `CLAWBUS_SECRET_IDS` (none when unset)."""
    return [part.strip() for part in environ.get(SECRET_IDS_VAR, "").split(",") if part.strip()]


async def load(store: SecretStore, ids: Sequence[str]) -> dict[str, str]:
    """Every variable from every secret in `ids`, later secrets overriding earlier ones (plain values:
    they are about to become environment variables)."""
    loaded: dict[str, str] = {}
    for secret_id in ids:
        values = await store.get(secret_id)
        loaded.update({name: value.get_secret_value() for name, value in values.items()})
    return loaded


async def _load_from_aws(ids: Sequence[str]) -> dict[str, str]:  # pragma: no cover - main's
    from clawbus.bus.clients import SecretClients, open_stage_clients
    from clawbus.bus.settings import Settings
    from clawbus.storage.backends import secret_store

    settings = Settings()
    async with open_stage_clients(settings, SecretClients) as clients:
        return await load(secret_store(settings, clients), ids)


def main(argv: Sequence[str] | None = None) -> None:  # pragma: no cover - replaces the process
    """Load the secrets into the environment, then exec `argv` (the real entry point)."""
    command = list(sys.argv[1:] if argv is None else argv)
    if not command:
        raise ConfigError("usage: python -m clawbus.bus.secret_env COMMAND [ARG...]")
    ids = secret_ids(os.environ)
    if ids:
        os.environ.update(asyncio.run(_load_from_aws(ids)))
    os.execvp(command[0], command)  # noqa: S606  # the container's own entry point, not user input


if __name__ == "__main__":
    main()
