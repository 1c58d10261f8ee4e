"""Start a process with its channel credentials loaded from Secrets Manager into `CLAWBUS_*` variables.

In AWS, bot tokens and signing secrets live in Secrets Manager, one secret per channel, each a JSON
object of environment names to values (`{"CLAWBUS_TELEGRAM__BOT_TOKEN": "..."}`). The Terraform never
sees the values: it passes only the secrets' ARNs, in `CLAWBUS_SECRET_IDS` (comma separated). This module
is the container's entry point in front of the real command (the Lambda runtime's
`/lambda-entrypoint.sh`, or `clawbus relay`): it reads the secrets once with boto3, adds their values to
the environment, and replaces itself with the command, so `Settings` reads them like any other variable.

    python -m clawbus.bus.secret_env /lambda-entrypoint.sh clawbus.ingress.lambda_handler.handler
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Protocol

from .errors import ConfigError

SECRET_IDS_VAR = "CLAWBUS_SECRET_IDS"  # noqa: S105  # a variable name, not a secret
_PREFIX = "CLAWBUS_"


class SecretReader(Protocol):
    """The one Secrets Manager call this needs (a boto3 `secretsmanager` client)."""

    def get_secret_value(self, *, SecretId: str) -> Mapping[str, object]: ...  # boto3's parameter name


def secret_ids(environ: Mapping[str, str]) -> list[str]:
    """The secret ARNs or names listed in `CLAWBUS_SECRET_IDS` (none when unset)."""
    return [part.strip() for part in environ.get(SECRET_IDS_VAR, "").split(",") if part.strip()]


def parse_secret(secret_id: str, text: str) -> dict[str, str]:
    """The `CLAWBUS_*` variables in one secret's JSON; `ConfigError` names the secret when it is wrong.

    An empty object is allowed (a channel whose values the operator has not set yet).
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
    wrong = sorted(k for k, v in values.items() if not k.startswith(_PREFIX) or not isinstance(v, str))
    if wrong:
        raise ConfigError(
            f"secret {secret_id}: keys must start with {_PREFIX} and values be strings: {wrong}"
        )
    return dict(values)


def load(reader: SecretReader, ids: Sequence[str]) -> dict[str, str]:
    """Every variable from every secret in `ids`, later secrets overriding earlier ones."""
    loaded: dict[str, str] = {}
    for secret_id in ids:
        response = reader.get_secret_value(SecretId=secret_id)
        text = response.get("SecretString")
        if not isinstance(text, str):
            raise ConfigError(f"secret {secret_id} has no string value; store a JSON object")
        loaded.update(parse_secret(secret_id, text))
    return loaded


def main(argv: Sequence[str] | None = None) -> None:  # pragma: no cover - replaces the process
    """Load the secrets into the environment, then exec `argv` (the real entry point)."""
    command = list(sys.argv[1:] if argv is None else argv)
    if not command:
        raise ConfigError("usage: python -m clawbus.bus.secret_env COMMAND [ARG...]")
    ids = secret_ids(os.environ)
    if ids:
        import boto3  # only when there is something to read

        reader = boto3.client("secretsmanager")
        os.environ.update(load(reader, ids))
    os.execvp(command[0], command)  # noqa: S606  # the container's own entry point, not user input


if __name__ == "__main__":
    main()
