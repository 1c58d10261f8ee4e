"""The `clawbus` command: the embedded pipeline (`up`, `say`) and one subcommand per stage process."""

from __future__ import annotations

import argparse
import sys
from importlib import metadata
from pathlib import Path

from pydantic import ValidationError

from clawbus.bus.errors import ClawbusError
from clawbus.bus.settings import CHANNELS, Settings
from clawbus.cli import say, up_args
from clawbus.cli.console import Console
from clawbus.cli.ops_target import OPS_VERBS, add_target_arguments, run_ops_verb
from clawbus.local.credentials import with_data_dir_credentials

DESCRIPTION = """\
clawbus runs a personal AI assistant's gateway as a message bus:
platform event → ingress → SQS FIFO (one group per session) → dispatcher → AgentCore → SNS FIFO
→ one SQS FIFO queue per channel → egress → platform.

Start here:  clawbus up         (everything on this machine, no AWS account, no tokens)
             clawbus say "hi"   (talk to it from another terminal; or open the WebChat URL 'up' prints)

Settings come from CLAWBUS_* environment variables (see docs/configuration.md),
e.g. CLAWBUS_AWS__ENDPOINT_URL, CLAWBUS_BUS__PREFIX, CLAWBUS_SESSION__DM_SCOPE, over the stored
openclaw.json (read by each stage at start; 'clawbus config show' says which values came from it).
"""


# Commands `main` parses without the tools' parsers, whose modules (bench, state, dashboard...) import the
# channel SDKs, aiobotocore and starlette: over half a second of every stage's start (docs/performance.md).
LEAN_COMMANDS = frozenset(
    {"up", "say", "config", "ingress", "relay", "dispatcher", "egress", "agent", "scheduler"}
    | {"local-agentcore", "local-aws"}
)


def build_parser(full: bool = True) -> argparse.ArgumentParser:
    """The argument parser for every subcommand (`full=False`: the `LEAN_COMMANDS` alone)."""
    parser = argparse.ArgumentParser(
        prog="clawbus", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"clawbus {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    up_parser = commands.add_parser(
        "up",
        help="run the whole pipeline on this machine (loopback AWS API, every stage as its own process)",
        description="Start moto (a real AWS API on loopback), provision the topology, and run every stage "
        "as its own process. Ctrl-C stops everything.",
    )
    up_args.add_arguments(up_parser)

    say_parser = commands.add_parser(
        "say",
        help="send a message on the local WebChat channel and print the reply",
        description="Send TEXT through the running pipeline ('clawbus up') and print the agent's reply. "
        "Exits 1 if no reply arrives in time, 2 if ingress is unreachable or refuses the message.",
    )
    say.add_arguments(say_parser)

    config_parser = commands.add_parser(
        "config", help="show the effective settings (secrets masked) or list every CLAWBUS_* env var"
    )
    config_parser.add_argument(
        "action", choices=("show", "env"), help="show: current values; env: all env vars"
    )
    config_parser.add_argument("--json", action="store_true", help="print `show` as JSON")
    add_target_arguments(config_parser)

    if full:
        _add_tool_commands(commands)

    stage_help = "run only this stage (as 'clawbus up' does for each); reads CLAWBUS_* settings"
    commands.add_parser("ingress", help=f"ingress HTTP server (webhooks, WebChat): {stage_help}")
    commands.add_parser(
        "relay",
        help="Discord gateway, Slack Socket Mode and Telegram long polling onto the inbound queue: "
        f"{stage_help}",
    )
    commands.add_parser("dispatcher", help=f"inbound consumer that invokes the agent: {stage_help}")
    egress_parser = commands.add_parser("egress", help=f"one channel's reply worker: {stage_help}")
    egress_parser.add_argument("channel", choices=CHANNELS, help="the channel whose egress queue to consume")
    commands.add_parser("agent", help=f"the agent container app (POST /invocations, GET /ping): {stage_help}")
    commands.add_parser(
        "scheduler",
        help="the local schedule firer (the embedded default's EventBridge Scheduler; not used in AWS): "
        + stage_help,
    )
    commands.add_parser(
        "local-agentcore", help="the loopback AgentCore data-plane endpoint that forwards to the agent"
    )
    local_aws = commands.add_parser("local-aws", help="the loopback AWS API (moto server mode) alone")
    local_aws.add_argument("--host", default="127.0.0.1")
    local_aws.add_argument("--port", type=int, default=4566)
    local_aws.add_argument(
        "--state-file",
        type=Path,
        help="restore the API's state from this file at start and save it there (default: in memory only)",
    )
    local_aws.add_argument(
        "--snapshot-interval",
        type=float,
        help="seconds between saves while serving (default CLAWBUS_LOCAL__SNAPSHOT_INTERVAL_S; 0: at stop)",
    )
    local_aws.add_argument(
        "--dedup-window",
        type=float,
        default=300.0,
        help="seconds a FIFO deduplication id is kept after its first send (default 300, as SQS; tests "
        "shorten it to send a platform's late retry after SQS would have forgotten the id)",
    )
    return parser


def _add_tool_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench_parser = commands.add_parser(
        "bench",
        help="measure the dispatcher against a bare relay and a naive consumer (prints JSON last)",
        description="Starts its own loopback AWS API, a stub agent and the dispatcher, and prints "
        "throughput, concurrency, requests per turn and memory as ratios against baselines measured "
        "in the same run.",
    )
    from clawbus.cli import bench

    bench.add_arguments(bench_parser)

    from clawbus.cli import cost_cmd

    cost_cmd.add_arguments(
        commands.add_parser(
            "cost",
            help="AWS cost per 1,000 turns and per month, beside the sync-Lambda design the samples use",
            description="Prices a traffic (--turns-per-day) with the Terraform's sizes and a dated table of "
            "list prices (--prices FILE overrides), for the bus and for a Lambda that waits for "
            "InvokeAgentRuntime. Reads nothing from AWS.",
        )
    )

    pairing = commands.add_parser(
        "pairing",
        help="list pending pairing requests or approve one (unknown DM senders get a code)",
        description="Unknown senders on a channel with dm_policy=pairing get an 8-character code. "
        "'list' shows pending requests; 'approve <channel> <code>' lets that sender in.",
    )
    pairing.add_argument("action", choices=("list", "approve"))
    pairing.add_argument("channel", nargs="?", choices=CHANNELS[1:], help="the channel (all for list)")
    pairing.add_argument("code", nargs="?", help="the code the sender was given (approve)")
    pairing.add_argument("--account", default="default", help="the channel account (default: default)")
    pairing.add_argument("--json", action="store_true", help="print JSON")
    add_target_arguments(pairing)

    _add_ops_commands(commands)

    from clawbus.cli import cron_cmd

    cron_parser = commands.add_parser(
        "cron",
        help="cron jobs: add, list, update, remove, run now, run history, sync (records vs schedules)",
        description="The cron service the agent's cron tool uses: job records in DynamoDB, schedules in "
        "EventBridge Scheduler targeting the inbound queue. Exits 1 when the job is refused, 2 on bad input "
        "or an unreachable deployment.",
    )
    cron_cmd.add_arguments(cron_parser)

    from clawbus.cli import state_cmd

    state_cmd.add_arguments(
        commands.add_parser(
            "state",
            help="import an OpenClaw state directory (~/.openclaw) into the stores, or export them as one",
            description="import: config, workspace, sessions, pairing, cron jobs and channel credentials "
            "from an OpenClaw directory into the storage layer (--dry-run first); export: the stores as an "
            "OpenClaw directory. Exit 1 when an item could not be moved, 2 when the stores cannot be read.",
        )
    )


def _add_ops_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from clawbus.cli import dashboard, dlq, route_cmd, status

    route_cmd.register(commands)  # clawbus route explain|sessions
    status.add_arguments(
        commands.add_parser(
            "status",
            help="queue depths, oldest message ages, a verdict per queue; exits 1 when a DLQ holds messages",
            description="Per queue: visible, in flight, delayed, oldest age and a verdict (healthy / "
            "backlog growing / DLQ not empty). Exits 1 when a DLQ holds messages, 2 when the deployment "
            "cannot be read.",
        )
    )
    dlq.add_arguments(commands.add_parser("dlq", help="dead letters: list, show, replay, purge"))
    dashboard.add_arguments(
        commands.add_parser("dashboard", help="serve the live queue dashboard against any endpoint/prefix")
    )


def _version() -> str:
    try:
        return metadata.version("clawbus")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "unknown"


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `clawbus` command."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(full=not argv or argv[0] not in LEAN_COMMANDS).parse_args(argv)
    console = Console(json_errors=bool(getattr(args, "json", False)))
    try:
        settings = Settings()
    except ValidationError as exc:
        for err in exc.errors():
            path = "__".join(str(p) for p in err["loc"]).upper()
            console.error(f"invalid setting CLAWBUS_{path}: {err['msg']}")
        sys.exit(2)
    if args.command == "up":
        from clawbus.cli.up import run_up  # the provisioner, supervisor and botocore: `up` alone

        sys.exit(run_up(args, settings, console))
    try:  # every other command signs loopback requests with `up`'s pair, from the data dir if need be
        settings = with_data_dir_credentials(settings)
    except ClawbusError as exc:
        console.error(str(exc))
        sys.exit(2)
    if args.command == "bench":
        from clawbus.cli.bench import run_bench

        sys.exit(run_bench(args, console))
    if args.command == "cost":
        from clawbus.cli.cost_cmd import run_cost

        sys.exit(run_cost(args, console))
    if args.command in OPS_VERBS:
        sys.exit(run_ops_verb(args, settings, console))
    if args.command == "dashboard":
        from clawbus.cli.dashboard import run_dashboard

        sys.exit(run_dashboard(args, settings, console))
    if args.command == "say":
        sys.exit(say.run_say(args, settings, console))
    from clawbus.cli.stage_run import run_stage  # the stages' logging and clients: not for the tools

    try:
        run_stage(args.command, args, settings)
    except KeyboardInterrupt:
        pass
    except Exception as exc:
        if not isinstance(exc, ClawbusError):
            raise
        console.error(f"{args.command}: {exc}")
        sys.exit(1)
