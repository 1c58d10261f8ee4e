"""The flags every ops command shares (`--endpoint-url`, `--profile`, `--region`, `--prefix`).

Defaults come from settings (`CLAWBUS_AWS__ENDPOINT_URL`, `CLAWBUS_AWS__PROFILE`, `CLAWBUS_AWS__REGION`,
`CLAWBUS_BUS__PREFIX`), so the same command reads the embedded default and an AWS account. With no
endpoint set anywhere, the embedded default's loopback API (`clawbus up`'s, port 4566) is meant, unless
`--aws` or `--profile` says AWS itself.
"""

from __future__ import annotations

import argparse

from clawbus.bus.errors import ConfigError
from clawbus.bus.ops import OpsTarget
from clawbus.bus.settings import AwsSettings, BusSettings, Settings


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the deployment-selecting flags."""
    group = parser.add_argument_group("deployment (defaults from CLAWBUS_* settings)")
    group.add_argument(
        "--endpoint-url", help="AWS API endpoint (the loopback one 'clawbus up' runs, or omit for AWS)"
    )
    group.add_argument("--profile", help="AWS profile (AWS only)")
    group.add_argument("--region", help="AWS region")
    group.add_argument("--prefix", help="resource name prefix (default clawbus)")
    group.add_argument(
        "--aws", action="store_true", help="ignore CLAWBUS_AWS__ENDPOINT_URL: talk to AWS itself"
    )


def target_from(args: argparse.Namespace, settings: Settings) -> OpsTarget:
    """The deployment the flags (over the settings) describe; `ConfigError` for a malformed prefix."""
    aws = settings.aws.model_dump()
    if args.aws:
        aws["endpoint_url"] = None
    elif aws["endpoint_url"] is None and args.profile is None and args.endpoint_url is None:
        aws["endpoint_url"] = f"http://{settings.local.aws_host}:{settings.local.aws_port}"
    for key in ("endpoint_url", "profile", "region"):
        if getattr(args, key) is not None:
            aws[key] = getattr(args, key)
    prefix = args.prefix or settings.bus.prefix
    try:
        BusSettings(prefix=prefix)
    except ValueError as exc:
        raise ConfigError(
            f"invalid --prefix {prefix!r}: lower-case letters, digits and '-', 1-31 chars"
        ) from exc
    return OpsTarget(aws=AwsSettings.model_validate(aws), prefix=prefix)
