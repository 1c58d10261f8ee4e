"""`clawbus status`: every queue's depth, the age of its oldest message, and a verdict.

Also lists schedules (heartbeat, cron) whose target queue is gone. Exits 1 when a dead-letter queue
holds messages or a schedule's target is gone (so it can gate a deploy), 2 when the deployment cannot
be read (unknown prefix, unreachable endpoint, no credentials), else 0. "Backlog growing" compares with
the previous sample: the one before in `--watch`, else the last `status` run against the same
deployment (kept in `<data-dir>/status/`, used when under 15 minutes old).

On the loopback API it also shows the stages of the local `clawbus up` (`<data-dir>/stages.json`, see
`local/watchdog.py`): each one's state, deaths and restarts. A stage `up` gave up on also exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console as RichConsole
from rich.live import Live
from rich.table import Table

from clawbus.bus.errors import ClawbusError
from clawbus.bus.settings import Settings
from clawbus.cli.console import Console
from clawbus.cli.ops import (
    BrokenSchedule,
    OpsTarget,
    QueueDepth,
    Verdict,
    sample_depths,
    schedules_with_missing_target,
    verdict,
)
from clawbus.cli.ops_target import add_target_arguments, target_from
from clawbus.local.watchdog import StageBoard, read_board
from clawbus.storage import LocalBlobStore

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

HISTORY_MAX_AGE = timedelta(minutes=15)
_STYLE = {Verdict.HEALTHY: "green", Verdict.BACKLOG_GROWING: "yellow", Verdict.DLQ_NOT_EMPTY: "red"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`status`'s flags."""
    add_target_arguments(parser)
    parser.add_argument("--watch", action="store_true", help="refresh in place until Ctrl-C")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes (default 2)")
    parser.add_argument("--json", action="store_true", help="print JSON (one object per sample with --watch)")


def wide_console() -> RichConsole:
    """A console that does not fold tables when piped (80 columns is rich's guess there)."""
    probe = RichConsole()
    return RichConsole(highlight=False, width=None if probe.is_terminal else 200)


def format_age(seconds: float | None) -> str:
    """`42s`, `3m05s`, `2h07m`, `1d04h`; `-` when unknown."""
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


class SampleHistory:
    """The previous sample of one deployment, kept as a local blob, so one-shot runs can see growth."""

    def __init__(self, data_dir: Path, target: OpsTarget) -> None:
        key = hashlib.sha256(f"{target.where}|{target.prefix}".encode()).hexdigest()[:16]
        self._blobs = LocalBlobStore(data_dir / "status")
        self._name = f"{target.prefix}-{key}.json"

    def load(self, now: datetime) -> dict[str, QueueDepth]:
        """The last sample if recent enough, by queue name (empty when none)."""
        try:
            blob = asyncio.run(self._blobs.get(self._name))
            if blob is None:
                return {}
            saved = json.loads(blob.data)
            taken = datetime.fromisoformat(saved["taken_at"])
            if now - taken > HISTORY_MAX_AGE:
                return {}
            return {q["name"]: QueueDepth(**q) for q in saved["queues"]}
        except (OSError, ValueError, KeyError, TypeError):
            return {}

    def save(self, now: datetime, depths: list[QueueDepth]) -> None:
        """Keep this sample for the next run (best effort: a read-only home only loses the trend)."""
        payload = {"taken_at": now.isoformat(), "queues": [d.as_json() for d in depths]}
        with contextlib.suppress(OSError):
            asyncio.run(self._blobs.put(self._name, json.dumps(payload).encode()))


def _judge(depths: list[QueueDepth], previous: dict[str, QueueDepth]) -> list[tuple[QueueDepth, Verdict]]:
    return [(d, verdict(d, previous.get(d.name))) for d in depths]


def _document(
    target: OpsTarget,
    now: datetime,
    judged: list[tuple[QueueDepth, Verdict]],
    broken: list[BrokenSchedule] | None = None,
    board: StageBoard | None = None,
) -> dict[str, object]:
    dead = sum(d.total for d, _ in judged if d.kind == "dlq")
    broken = broken or []
    gave_up = [s.name for s in board.stages if s.state == "gave_up"] if board else []
    return {
        "endpoint": target.where,
        "prefix": target.prefix,
        "taken_at": now.isoformat(),
        "queues": [{**d.as_json(), "verdict": v.value} for d, v in judged],
        "dead_letters": dead,
        "schedules_with_missing_target": [{"schedule": b.name, "queue": b.target_queue} for b in broken],
        "stages": _stages(board),
        "ok": dead == 0 and not broken and not gave_up,
    }


def _stages(board: StageBoard | None) -> dict[str, object] | None:
    if board is None:
        return None
    return {
        "supervisor_running": board.alive(),
        "updated_at": board.updated_at.isoformat(),
        "stages": [s.model_dump(mode="json") for s in board.stages],
    }


def _print_stages(out: RichConsole, board: StageBoard) -> None:
    table = Table(title="stages (clawbus up)", title_justify="left", box=None)
    for column in ("stage", "state", "deaths", "restarts", "last exit", "last error"):
        table.add_column(column, justify="right" if column in ("deaths", "restarts") else "left")
    for s in board.stages:
        style = {"running": "green", "restarting": "yellow", "gave_up": "red"}[s.state]
        exit_code = "-" if s.last_exit is None else str(s.last_exit)
        table.add_row(
            s.name, f"[{style}]{s.state}[/]", str(s.deaths), str(s.restarts), exit_code, s.last_error or ""
        )
    if not board.alive():
        table.caption = (
            f"clawbus up (pid {board.supervisor_pid}) is not running; last update {board.updated_at}"
        )
    out.print(table)


def _table(target: OpsTarget, now: datetime, judged: list[tuple[QueueDepth, Verdict]]) -> Table:
    table = Table(
        title=f"{target.prefix} at {target.where} — {now:%H:%M:%S} UTC", title_justify="left", box=None
    )
    for column in ("queue", "visible", "in flight", "delayed", "oldest", "verdict"):
        table.add_column(column, justify="left" if column in ("queue", "verdict") else "right")
    for depth, judgement in judged:
        table.add_row(
            depth.name.removeprefix(f"{target.prefix}-"),
            str(depth.visible),
            str(depth.in_flight),
            str(depth.delayed),
            format_age(depth.oldest_age_s),
            f"[{_STYLE[judgement]}]{judgement.value}[/]",
        )
    if target.loopback:
        table.caption = "oldest: DLQs only here (CloudWatch's ApproximateAgeOfOldestMessage in AWS)"
    return table


def run_status(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    """Sample, judge, print; the exit code says whether a DLQ holds messages."""
    try:
        target = target_from(args, settings)
        sqs = target.sqs()
        urls = target.queue_urls(sqs, [q.name for q in target.topology().queues])
        history = SampleHistory(settings.local.data_dir, target)
        if args.watch:
            return _watch(args, target, sqs, urls)
        now = datetime.now(UTC)
        judged = _judge(sample_depths(target, sqs, urls), history.load(now))
        history.save(now, [d for d, _ in judged])
        broken = schedules_with_missing_target(target, sqs)
    except ClawbusError as exc:
        console.error(f"status: {exc}")
        return 2
    board = read_board(settings.local.data_dir) if target.loopback else None
    document = _document(target, now, judged, broken, board)
    if args.json:
        console.print(json.dumps(document))
    else:
        out = wide_console()
        out.print(_table(target, now, judged))
        if board is not None:
            _print_stages(out, board)
        if document["dead_letters"]:
            out.print(f"{document['dead_letters']} dead letter(s) — see them with: clawbus dlq list")
        for item in broken:
            out.print(
                f"schedule {item.name} targets queue {item.target_queue}, which does not exist — "
                "re-provision it ('clawbus up' / terraform apply) or remove the schedule",
                markup=False,
            )
    return 0 if document["ok"] else 1


def _watch(args: argparse.Namespace, target: OpsTarget, sqs: SQSClient, urls: dict[str, str]) -> int:
    previous: dict[str, QueueDepth] = {}
    ok = True
    out = wide_console()
    live = None if args.json else Live(console=out, auto_refresh=False)
    try:
        if live is not None:
            live.start()
        while True:
            now = datetime.now(UTC)
            judged = _judge(sample_depths(target, sqs, urls), previous)
            previous = {d.name: d for d, _ in judged}
            document = _document(target, now, judged)
            ok = bool(document["ok"])
            if live is None:
                out.print(json.dumps(document), markup=False)
                out.file.flush()
            else:
                live.update(_table(target, now, judged), refresh=True)
            time.sleep(max(0.2, args.interval))  # the refresh period, not a wait for a condition
    except KeyboardInterrupt:
        pass
    finally:
        if live is not None:
            live.stop()
    return 0 if ok else 1
