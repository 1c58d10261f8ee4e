"""`clawbus state import|export`: move an OpenClaw state directory into the stores, and back out.

    clawbus state import ~/.openclaw --dry-run     # what would move, what would not, and why
    clawbus state import ~/.openclaw               # config, workspace, sessions, pairing, cron, credentials
    clawbus state export ./openclaw-export         # the stores as an OpenClaw directory

Against the deployment the settings name (the embedded default's loopback API while `clawbus up` runs, or
AWS with `--aws`/`--profile`). Exit 0 when done, 1 when an item could not be moved (listed), 2 when the
directory or the stores cannot be read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from clawbus.bus.errors import ClawbusError
from clawbus.bus.settings import Settings
from clawbus.cli.console import Console
from clawbus.cli.ops_target import add_target_arguments, target_from
from clawbus.cli.state_sinks import open_sinks
from clawbus.openclaw.state_dir_read import read_openclaw_dir
from clawbus.openclaw.state_dir_write import write_openclaw_dir
from clawbus.openclaw.state_export import export_state
from clawbus.openclaw.state_import import import_state
from clawbus.openclaw.state_transfer import TransferReport


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`state`'s subcommands and flags."""
    actions = parser.add_subparsers(dest="state_action", metavar="ACTION", required=True)
    importing = actions.add_parser(
        "import",
        help="move an OpenClaw state directory (~/.openclaw) into the stores",
        description="Reads openclaw.json, .env, workspace/, agents/*/sessions/, credentials/ and cron/, "
        "and writes each into its store. Safe to repeat: what is already there is left alone (unless "
        "--overwrite), allowlists are merged. Channel credentials go to the secrets store, not the config.",
    )
    importing.add_argument("directory", type=Path, help="the OpenClaw state directory, e.g. ~/.openclaw")
    importing.add_argument("--dry-run", action="store_true", help="read everything, write nothing, report")
    importing.add_argument(
        "--overwrite",
        action="store_true",
        help="replace stored workspace files, config and secrets that differ",
    )
    exporting = actions.add_parser(
        "export",
        help="write the stores out as an OpenClaw state directory",
        description="Writes openclaw.json, workspace/, agents/<id>/sessions/, credentials/ and cron/ into "
        "a new (or empty) directory. Channel credentials are left out unless --include-secrets.",
    )
    exporting.add_argument("directory", type=Path, help="a new or empty directory to write")
    exporting.add_argument(
        "--include-secrets", action="store_true", help="write channel credentials back into openclaw.json"
    )
    for sub in (importing, exporting):
        sub.add_argument("--json", action="store_true", help="print the report as JSON")
        add_target_arguments(sub)


def _print_report(report: TransferReport, console: Console, *, dry_run: bool, as_json: bool) -> None:
    if as_json:
        console.print(
            json.dumps(
                {
                    "dry_run": dry_run,
                    "counts": report.counts(),
                    "items": [
                        {"kind": kind, "name": name, "outcome": outcome, "detail": detail}
                        for kind, name, outcome, detail in report.rows
                    ],
                }
            )
        )
        return
    verb = "would be " if dry_run else ""
    for kind, counts in report.counts().items():
        parts = ", ".join(f"{n} {verb}{outcome}" for outcome, n in counts.items())
        console.print(f"{kind:<12} {parts}")
    notes = [row for row in report.rows if row[2] in ("kept", "skipped")]
    if notes:
        console.print("")
    for kind, name, outcome, detail in notes:
        console.print(f"  {outcome:<7} {kind} {name}: {detail}")
    if dry_run:
        console.print("\ndry run: nothing was written (run again without --dry-run)")


def _failed(report: TransferReport) -> bool:
    """Whether an item the user asked to move could not be (as opposed to OpenClaw-local files)."""
    return any(outcome == "skipped" and kind != "not moved" for kind, _, outcome, _ in report.rows)


def _import(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    source = args.directory.expanduser()
    with Console(quiet=args.json).step(f"reading {source}"):
        found = read_openclaw_dir(source)

    async def go() -> TransferReport:
        async with open_sinks(settings, found.config) as sinks:
            return await import_state(
                found, sinks, dry_run=args.dry_run, overwrite=args.overwrite, progress=console.note
            )

    report = asyncio.run(go())
    _print_report(report, console, dry_run=args.dry_run, as_json=args.json)
    return 1 if _failed(report) else 0


def _export(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    out = args.directory.expanduser()

    async def go() -> list[str]:
        async with open_sinks(settings) as sinks:
            state = await export_state(sinks, include_secrets=args.include_secrets)
        return write_openclaw_dir(state, out)

    written = asyncio.run(go())
    if args.json:
        console.print(json.dumps({"directory": str(out), "files": written}))
    else:
        console.print(f"wrote {len(written)} files to {out}")
    return 0


def run_state(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    """Run `clawbus state import|export`; returns the exit code."""
    try:
        target = target_from(args, settings)
        scoped = settings.model_copy(
            update={"aws": target.aws, "bus": settings.bus.model_copy(update={"prefix": target.prefix})}
        )
        return (_import if args.state_action == "import" else _export)(args, scoped, console)
    except ClawbusError as exc:
        console.error(f"state {args.state_action}: {exc}")
        return 2
