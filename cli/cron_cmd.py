"""`clawbus cron add|list|update|remove|run|runs|sync`: the cron service from the command line.

The same operations as the agent's `cron` tool (storage.cron.service), against the deployment the settings
name (the ops flags of `cli/ops_target.py`). Exit 0 when done, 1 when the service refused (a job
Scheduler cannot take, a name in use), 2 for bad input (`--every 0m`, a `--patch` that is not JSON) and
when the deployment cannot be reached. Input is checked before anything is sent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from clawbus.bus.clients import CronClients, open_stage_clients
from clawbus.bus.errors import ClawbusError, RetryableError
from clawbus.bus.settings import Settings
from clawbus.cli.console import Console
from clawbus.cli.ops_target import add_target_arguments, exit_code_for
from clawbus.openclaw.document_settings import load_settings_async
from clawbus.schemas.cron import CronJob
from clawbus.storage.cron.service import CronService, connect


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`cron`'s subcommands and flags."""
    actions = parser.add_subparsers(dest="cron_action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="create a job (one of --at, --every, --cron)")
    add.add_argument("--name", required=True)
    when = add.add_mutually_exclusive_group(required=True)
    when.add_argument("--at", help="once, at an ISO-8601 time (no zone: UTC)")
    when.add_argument("--every", type=every_ms, help="every N minutes/hours/days (N >= 1), e.g. 30m, 2h, 1d")
    when.add_argument("--cron", help="a cron expression (5 fields, or cron(...) in Scheduler's syntax)")
    add.add_argument("--tz", help="IANA time zone of --cron (default UTC)")
    what = add.add_mutually_exclusive_group(required=True)
    what.add_argument("--message", help="an agent turn in the job's own session")
    what.add_argument("--system-event", help="a text for the agent's main session")
    add.add_argument("--channel", help="deliver the result on this channel (default: the last route)")
    add.add_argument("--to", help="the chat id on --channel")
    add.add_argument("--agent", default="main", help="the agent (default main)")
    add.add_argument("--keep-after-run", action="store_true", help="keep a one-shot's record after it ran")
    update = actions.add_parser("update", help="change a job: --patch with OpenClaw's field names (JSON)")
    update.add_argument("job_id")
    update.add_argument("--patch", required=True, type=_patch, help='e.g. {"enabled": false}')
    listing = actions.add_parser("list", help="the jobs")
    listing.add_argument("--all", action="store_true", help="include disabled jobs")
    for name, text in (("remove", "delete a job and its schedule"), ("run", "fire a job now")):
        actions.add_parser(name, help=text).add_argument("job_id")
    runs = actions.add_parser("runs", help="a job's run history, newest first")
    runs.add_argument("job_id")
    runs.add_argument("--limit", type=int, default=50)
    actions.add_parser("sync", help="reconcile job records and schedules (and apply heartbeat settings)")
    for sub in actions.choices.values():
        sub.add_argument("--json", action="store_true", help="print JSON")
        add_target_arguments(sub)


def every_ms(text: str) -> int:
    """`--every`'s value in milliseconds; an argparse error (exit 2, usage) when it is not `<N>m|h|d`, N>0."""
    units = {"m": 60_000, "h": 3_600_000, "d": 86_400_000}
    unit = text[-1:].lower()
    if unit not in units or not text[:-1].isdigit() or int(text[:-1]) == 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an interval: use a number >= 1 and m, h or d, e.g. 30m"
        )
    return int(text[:-1]) * units[unit]


def _patch(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON ({exc.msg} at {exc.pos})") from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError('a JSON object of fields, e.g. {"enabled": false}')
    return value


def _job_fields(args: argparse.Namespace) -> dict[str, Any]:
    if args.at:
        schedule: dict[str, Any] = {"kind": "at", "at": args.at}
    elif args.every:
        schedule = {"kind": "every", "everyMs": args.every}
    else:
        schedule = {"kind": "cron", "expr": args.cron, "tz": args.tz}
    if args.message:
        payload = {"kind": "agentTurn", "message": args.message}
    else:
        payload = {"kind": "systemEvent", "text": args.system_event}
    fields: dict[str, Any] = {"name": args.name, "schedule": schedule, "payload": payload}
    if args.channel or args.to:
        fields["delivery"] = {"mode": "announce", "channel": args.channel, "to": args.to}
    if args.keep_after_run:
        fields["deleteAfterRun"] = False
    return fields


def _describe(job: CronJob) -> str:
    when = job.schedule.model_dump(by_alias=True, exclude={"kind"}, exclude_none=True)
    state = "" if job.enabled else "  (disabled)"
    schedule = f"{job.schedule.kind} {json.dumps(when, default=str)}"
    return f"{job.id}  {job.name}  {schedule}  {job.payload.kind}{state}"


async def _act(args: argparse.Namespace, service: CronService, settings: Settings) -> Any:
    action = args.cron_action
    if action == "add":
        return await service.add(_job_fields(args), agent_id=args.agent)
    if action == "update":
        return await service.update(args.job_id, args.patch)
    if action == "list":
        return await service.list_jobs(include_disabled=args.all)
    if action == "remove":
        return {"job_id": args.job_id, "removed": await service.remove(args.job_id)}
    if action == "run":
        return {"job_id": args.job_id, "event_id": await service.run(args.job_id)}
    if action == "runs":
        return await service.runs(args.job_id, args.limit)
    report = await service.sync()
    # The heartbeat settings as the stages see them: the environment over the stored openclaw.json.
    configured = (await load_settings_async(settings)).settings
    heartbeats = await service.apply_heartbeats(configured.heartbeat)
    return {**vars(report), "heartbeats": heartbeats}


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    return value


def _show(action: str, result: Any, console: Console) -> None:
    if action in ("add", "update"):
        console.print(_describe(result))
    elif action == "list":
        console.print("\n".join(_describe(job) for job in result) or "no cron jobs")
    elif action == "runs":
        for run in result:
            console.print(f"{run.ts.isoformat()}  {run.status}  {run.delivery_status}  {run.event_id}")
        if not result:
            console.print("no runs yet")
    elif action == "remove":
        console.print(f"removed {result['job_id']}" if result["removed"] else f"no job {result['job_id']}")
    elif action == "run":
        console.print(f"sent {result['event_id']}")
    else:
        lines = [f"{key}: {', '.join(value)}" for key, value in result.items() if value]
        console.print("\n".join(lines) or "in sync")


def run_cron(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    """Run one `clawbus cron` action; returns the exit code."""

    async def go(act: Callable[[CronService], Awaitable[Any]]) -> Any:
        async with open_stage_clients(settings, CronClients) as clients:
            return await act(await connect(settings, clients))

    try:
        result = asyncio.run(go(lambda service: _act(args, service, settings)))
    except ClawbusError as exc:
        retryable = isinstance(exc, RetryableError)
        hint = " — is the deployment reachable? ('clawbus up' runs one)" if retryable else ""
        console.error(f"cron {args.cron_action}: {exc}{hint}")
        return exit_code_for(exc)
    if args.json:
        console.print(json.dumps(_plain(result), default=str))
    else:
        _show(args.cron_action, result, console)
    return 0
