"""The flags every ops command shares, which deployment they mean, and the one exit-code rule.

`status`, `dlq`, `cron`, `pairing`, `config` and `state` all take `--aws`, `--profile`, `--region`,
`--prefix` and `--endpoint-url` from `add_target_arguments`. Which endpoint is meant, first match wins:
`--aws` (AWS itself), `--endpoint-url`, `CLAWBUS_AWS__ENDPOINT_URL`, `--profile` (AWS itself), the
endpoint the last `clawbus up` recorded in its data dir (`local/endpoints.py`, so non-default ports
are found without flags), else `clawbus up`'s default loopback API (127.0.0.1:4566).

Exit codes, for every ops verb: 0 done, 1 a finding (an unhealthy queue, dead letters where the verb is a
check, a request the deployment refused), 2 usage, configuration or an unreachable deployment.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from clawbus.bus.errors import ClawbusError, ConfigError, PermanentError, TargetGone, Unauthorized
from clawbus.bus.settings import AwsSettings, BusSettings, Settings
from clawbus.local.endpoints import LocalEndpoints, read_endpoints

if TYPE_CHECKING:
    from clawbus.cli.console import Console
    from clawbus.cli.ops import OpsTarget

EXIT_OK, EXIT_FINDING, EXIT_UNUSABLE = 0, 1, 2


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the deployment-selecting flags; their help says what leaving each out means."""
    group = parser.add_argument_group(
        "deployment (default: the running 'clawbus up'; CLAWBUS_* settings apply when a flag is omitted)"
    )
    group.add_argument(
        "--endpoint-url",
        help="AWS API endpoint; omitted: CLAWBUS_AWS__ENDPOINT_URL, else the endpoint the last "
        "'clawbus up' recorded in its data dir, else http://127.0.0.1:4566 (AWS itself with --aws/--profile)",
    )
    group.add_argument(
        "--profile",
        help="AWS profile, implies AWS itself; omitted: CLAWBUS_AWS__PROFILE, else the AWS default",
    )
    group.add_argument(
        "--region",
        help="AWS region; omitted: CLAWBUS_AWS__REGION, else $AWS_REGION / $AWS_DEFAULT_REGION, "
        "else us-east-1",
    )
    group.add_argument(
        "--prefix",
        help="resource name prefix; omitted: CLAWBUS_BUS__PREFIX, else the recorded 'clawbus up' run's, "
        "else clawbus",
    )
    group.add_argument(
        "--aws",
        action="store_true",
        help="talk to AWS itself (ignore CLAWBUS_AWS__ENDPOINT_URL and any running 'clawbus up'); "
        "omitted: the loopback API unless --profile is given",
    )


def _flag(args: argparse.Namespace, name: str) -> object:
    return getattr(args, name, None)


def target_from(args: argparse.Namespace, settings: Settings) -> OpsTarget:
    """The deployment the flags (over the settings, over `up`'s record) describe.

    Raises:
        ConfigError: a malformed `--prefix`, or an unreadable endpoints record.
    """
    from clawbus.cli.ops import OpsTarget  # botocore: not for `say` or a stage, which parse these flags

    aws = settings.aws.model_dump()
    recorded: LocalEndpoints | None = None
    if _flag(args, "aws"):
        aws["endpoint_url"] = None
    elif aws["endpoint_url"] is None and not _flag(args, "profile") and not _flag(args, "endpoint_url"):
        recorded = read_endpoints(settings.local.data_dir)
        default = f"http://{settings.local.aws_host}:{settings.local.aws_port}"
        aws["endpoint_url"] = recorded.aws_url if recorded else default
        if recorded and "region" not in settings.aws.model_fields_set:
            aws["region"] = recorded.region
    for key in ("endpoint_url", "profile", "region"):
        if _flag(args, key) is not None:
            aws[key] = _flag(args, key)
    prefix = str(_flag(args, "prefix") or "")
    if not prefix:
        explicit = "prefix" in settings.bus.model_fields_set
        prefix = recorded.prefix if recorded and not explicit else settings.bus.prefix
    try:
        BusSettings(prefix=prefix)
    except ValueError as exc:
        raise ConfigError(
            f"invalid --prefix {prefix!r}: lower-case letters, digits and '-', 1-31 chars"
        ) from exc
    return OpsTarget(aws=AwsSettings.model_validate(aws), prefix=prefix)


def scoped_settings(settings: Settings, target: OpsTarget) -> Settings:
    """`settings` pointing at `target`, for commands that open clients from settings (cron, pairing…)."""
    bus = settings.bus.model_copy(update={"prefix": target.prefix})
    return settings.model_copy(update={"aws": target.aws, "bus": bus})


def exit_code_for(exc: ClawbusError) -> int:
    """The exit code of an ops verb that stopped on `exc`: 1 when the deployment answered and refused
    the request (a finding), 2 when it could not be used (unreachable, no credentials, wrong prefix,
    bad settings)."""
    unusable = (ConfigError, Unauthorized, TargetGone)
    if isinstance(exc, PermanentError) and not isinstance(exc, unusable):
        return EXIT_FINDING
    return EXIT_UNUSABLE


OPS_VERBS = frozenset({"status", "dlq", "cron", "pairing", "config", "state", "route"})


def _ops_runner(command: str) -> Callable[[argparse.Namespace, Settings, Console], int]:
    from clawbus.cli import config_cmd, cron_cmd, dlq, pairing_cmd, route_cmd, state_cmd, status

    return {
        "status": status.run_status,
        "dlq": dlq.run_dlq,
        "cron": cron_cmd.run_cron,
        "pairing": pairing_cmd.run_pairing,
        "config": config_cmd.run_config,
        "state": state_cmd.run_state,
        "route": route_cmd.run_route,
    }[command]


def run_ops_verb(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    """Run an ops verb against the deployment its flags name, under the one exit-code rule
    (module docstring): whatever escapes the verb becomes one line (JSON with `--json`), never a
    traceback of botocore's."""
    from clawbus.cli.ops import ops_errors

    runner = _ops_runner(args.command)
    if args.command == "config" and args.action == "env":
        return runner(args, settings, console)  # the settings table: no deployment involved
    try:
        target = target_from(args, settings)
        target.check_listening()
        with ops_errors(target, args.command):
            return runner(args, scoped_settings(settings, target), console)
    except ClawbusError as exc:
        action = next((getattr(args, a) for a in _ACTIONS if getattr(args, a, None)), None)
        console.error(f"{args.command} {action}: {exc}" if action else f"{args.command}: {exc}")
        return exit_code_for(exc)


_ACTIONS = ("action", "dlq_action", "cron_action", "state_action")  # each verb's subcommand attribute
