"""`clawbus dlq list|show|replay|purge`: look at dead letters, send them back, or drop them.

`list` and `show` read without consuming (each message is received with a short visibility timeout and
given back at once, so it is briefly invisible). `replay` is safe to repeat or interrupt
(`cli/ops/replay.py` says why). `purge` asks first. Every subcommand takes the deployment flags and
prints one line, never a traceback, when the deployment cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.progress import Progress, TaskID
from rich.table import Table

from clawbus.bus.errors import ClawbusError, ConfigError
from clawbus.bus.settings import Settings
from clawbus.cli.console import Console
from clawbus.cli.ops import (
    DeadLetter,
    OpsTarget,
    ReplayFilter,
    find_letter,
    ops_errors,
    peek_letters,
    purge,
    redact,
    replay,
    resolve_dlq,
    start_server_side_redrive,
)
from clawbus.cli.ops.replay import REPLAY_HIDE_S, RedriveUnsupported
from clawbus.cli.ops_target import add_target_arguments, target_from
from clawbus.cli.status import format_age, wide_console

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

PROGRESS_FROM = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`dlq`'s subcommands and their flags."""
    actions = parser.add_subparsers(dest="dlq_action", metavar="ACTION", required=True)
    queue_help = "inbound, egress-<channel> (or a DLQ's full name); default: every DLQ"

    listing = actions.add_parser(
        "list", help="each dead letter: session, channel, age, attempts, reason (briefly hides them)"
    )
    listing.add_argument("queue", nargs="?", help=queue_help)
    listing.add_argument("--json", action="store_true", help="print JSON")
    add_target_arguments(listing)

    show = actions.add_parser("show", help="print one dead letter's envelope (text and secrets redacted)")
    show.add_argument("id", help="the SQS MessageId, as 'dlq list' shows it")
    show.add_argument("--queue", help=queue_help)
    show.add_argument("--reveal", action="store_true", help="show message text and secret-looking fields")
    show.add_argument("--json", action="store_true", help="print compact JSON")
    add_target_arguments(show)

    again = actions.add_parser(
        "replay", help="send dead letters back to their source queue (same session order, at most once)"
    )
    again.add_argument("queue", nargs="?", help=queue_help)
    again.add_argument("--id", action="append", default=[], metavar="ID", help="this letter (repeatable)")
    again.add_argument("--all", action="store_true", help="every letter (foreign ones are left alone)")
    again.add_argument("--session", metavar="KEY", help="letters of this session key")
    again.add_argument("--reason", metavar="R", help="letters whose error type or reason contains R")
    again.add_argument("--dry-run", action="store_true", help="say what would be replayed, change nothing")
    again.add_argument(
        "--server-side",
        action="store_true",
        help="with --all: let SQS move the messages (StartMessageMoveTask); see docs/operations.md",
    )
    again.add_argument(
        "--wait-hidden",
        type=float,
        default=REPLAY_HIDE_S,
        metavar="S",
        help="wait up to S seconds for letters another reader holds hidden (an interrupted replay "
        f"hides its letters for {REPLAY_HIDE_S} s); default {REPLAY_HIDE_S}",
    )
    again.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_target_arguments(again)

    drop = actions.add_parser("purge", help="delete every message in a DLQ (asks first)")
    drop.add_argument("queue", help="inbound or egress-<channel> (or the DLQ's full name)")
    drop.add_argument("--yes", action="store_true", help="do not ask")
    drop.add_argument("--json", action="store_true", help="print the result as JSON")
    add_target_arguments(drop)


def run_dlq(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    """Run one `dlq` action; 0 done, 1 nothing matched / refused, 2 the deployment could not be used."""
    try:
        target = target_from(args, settings)
        sqs = target.sqs()
        handler = {"list": _list, "show": _show, "replay": _replay, "purge": _purge}[args.dlq_action]
        return handler(args, target, sqs, console)
    except ClawbusError as exc:
        console.error(f"dlq {args.dlq_action}: {exc}")
        return 2


def _dlqs(args: argparse.Namespace, target: OpsTarget) -> list[str]:
    topology = target.topology()
    if getattr(args, "queue", None):
        return [resolve_dlq(topology, args.queue)]
    return [q.name for q in topology.queues if q.is_dlq]


def _list(args: argparse.Namespace, target: OpsTarget, sqs: SQSClient, console: Console) -> int:
    urls = target.queue_urls(sqs, _dlqs(args, target))
    now = datetime.now(UTC)
    letters = [
        letter.summary(now) for dlq, url in urls.items() for letter in peek_letters(target, sqs, dlq, url)
    ]
    if args.json:
        console.print(json.dumps({"prefix": target.prefix, "letters": letters}))
        return 0
    if not letters:
        console.print(f"no dead letters in {', '.join(urls)}")
        return 0
    table = Table(box=None, title=f"{len(letters)} dead letter(s)", title_justify="left")
    for column in ("id", "queue", "session", "channel", "age", "attempts", "reason"):
        table.add_column(column, overflow="fold")
    for row in letters:
        reason = (
            f"[magenta]foreign[/] {row['reason']}"
            if row["foreign"]
            else f"{row['error_type']}: {row['reason']}"
        )
        table.add_row(
            row["id"],
            row["queue"].removeprefix(f"{target.prefix}-").removesuffix("-dlq.fifo"),
            row["session"],
            row["channel"],
            format_age(row["age_s"]),
            "-" if row["attempts"] is None else str(row["attempts"]),
            reason.strip(": "),
        )
    wide_console().print(table)
    return 0


def _show(args: argparse.Namespace, target: OpsTarget, sqs: SQSClient, console: Console) -> int:
    urls = target.queue_urls(sqs, _dlqs(args, target))
    letter = find_letter(target, sqs, urls, args.id)
    document = _shown(letter, reveal=args.reveal)
    console.print(json.dumps(document) if args.json else json.dumps(document, indent=2))
    return 0


def _shown(letter: DeadLetter, *, reveal: bool) -> dict[str, Any]:
    envelope = letter.envelope
    if envelope is not None:
        body: Any = envelope if reveal else redact(envelope)
    else:
        body = letter.body if reveal else f"<foreign body, {len(letter.body)} chars; --reveal shows it>"
    return {
        "id": letter.message_id,
        "queue": letter.dlq,
        "source": letter.source_queue,
        "group": letter.group_id,
        "foreign": letter.foreign,
        "dead_lettered_at": letter.sent_at.isoformat(),
        "attributes": dict(letter.attributes),
        "envelope" if envelope is not None else "body": body,
    }


def _selection(args: argparse.Namespace) -> ReplayFilter:
    if not (args.id or args.all or args.session or args.reason):
        raise ConfigError("say which letters: --id ID, --all, --session KEY or --reason R")
    if args.server_side and not (args.all and not (args.id or args.session or args.reason)):
        raise ConfigError("--server-side moves a whole DLQ: use it with --all alone")
    return ReplayFilter(
        ids=frozenset(args.id), session=args.session, reason=args.reason, everything=bool(args.all)
    )


def _replay(args: argparse.Namespace, target: OpsTarget, sqs: SQSClient, console: Console) -> int:
    select = _selection(args)
    dlqs = _dlqs(args, target)
    urls = target.queue_urls(sqs, [*dlqs, *(d.removesuffix("-dlq.fifo") + ".fifo" for d in dlqs)])
    if args.server_side and not args.dry_run:
        handles = _server_side(target, sqs, urls, dlqs, console)
        if handles is not None:
            console.print(json.dumps({"server_side": handles}) if args.json else _started(handles))
            return 0
    summary: dict[str, Any] = {
        "dry_run": args.dry_run,
        "replayed": [],
        "foreign": [],
        "left": 0,
        "hidden": 0,
        "behind": 0,
    }
    interactive = sys.stdout.isatty() and not args.json
    with Progress(transient=True, disable=not interactive) as bar:
        for dlq in dlqs:
            with ops_errors(target, f"GetQueueAttributes {dlq}"):
                attributes = sqs.get_queue_attributes(
                    QueueUrl=urls[dlq], AttributeNames=["ApproximateNumberOfMessages"]
                )["Attributes"]
            held = int(attributes.get("ApproximateNumberOfMessages", "0"))
            task = bar.add_task(f"replaying {dlq}", total=held, visible=held >= PROGRESS_FROM)
            report = replay(
                target,
                sqs,
                dlq,
                urls,
                select,
                dry_run=args.dry_run,
                progress=_advance(bar, task),
                wait_hidden_s=args.wait_hidden,
                waiting=_waiting(console, dlq, args.wait_hidden, quiet=args.json),
            )
            summary["replayed"] += report.replayed
            summary["foreign"] += report.foreign
            summary["left"] += report.left
            summary["hidden"] += report.hidden
            summary["behind"] += report.behind
    if args.json:
        console.print(json.dumps(summary))
    else:
        for line in summary["replayed"]:
            verb = "would replay" if args.dry_run else "replayed"
            console.print(f"{verb} {line['id']} → {line['to']} (session {line['session']})")
        done = len(summary["replayed"])
        what = "would be replayed" if args.dry_run else "replayed"
        console.print(
            f"{done} {what}, {len(summary['foreign'])} foreign left alone, {summary['left']} left in the DLQ"
        )
        for line in _unreached_lines(summary, args.wait_hidden):
            console.print(line)
    unreached = summary["hidden"] + summary["behind"]
    return 0 if summary["replayed"] and not unreached else 1


def _waiting(console: Console, dlq: str, wait_s: float, *, quiet: bool) -> Callable[[int], None] | None:
    if quiet:
        return None
    return lambda hidden: console.print(
        f"{dlq}: {hidden} letter(s) hidden by another reader (an interrupted replay or a 'dlq list'); "
        f"waiting up to {wait_s:g} s for them"
    )


def _unreached_lines(summary: dict[str, Any], wait_s: float) -> list[str]:
    lines = []
    if summary["hidden"]:
        lines.append(
            f"{summary['hidden']} not replayed: still hidden by another reader after {wait_s:g} s "
            "(in flight elsewhere); run the replay again once they are visible"
        )
    if summary["behind"]:
        lines.append(
            f"{summary['behind']} not replayed: queued behind a letter left in the DLQ in their session "
            "(a FIFO queue serves no later letter of a session while an earlier one is held); "
            "select that session's earlier letters too"
        )
    return lines


def _advance(bar: Progress, task: TaskID) -> Callable[[DeadLetter], None]:
    return lambda _letter: bar.advance(task)


def _server_side(
    target: OpsTarget, sqs: SQSClient, urls: dict[str, str], dlqs: list[str], console: Console
) -> list[str] | None:
    handles = []
    for dlq in dlqs:
        try:
            handles.append(start_server_side_redrive(target, sqs, urls, dlq))
        except RedriveUnsupported as exc:
            console.print(f"note: {exc}; moving the messages here instead")
            return None
    return handles


def _started(handles: list[str]) -> str:
    return f"SQS redrive started ({len(handles)} task(s)); watch it with 'clawbus status --watch'"


def _purge(args: argparse.Namespace, target: OpsTarget, sqs: SQSClient, console: Console) -> int:
    (dlq,) = _dlqs(args, target)
    urls = target.queue_urls(sqs, [dlq])
    if not args.yes:
        if not sys.stdin.isatty():
            console.error(f"dlq purge: refusing to purge {dlq} without confirmation — pass --yes")
            return 1
        answer = input(
            f"Delete every message in {dlq} at {target.where}? Type the queue's short name to confirm: "
        )
        if answer.strip() not in (dlq, dlq.removeprefix(f"{target.prefix}-").removesuffix("-dlq.fifo")):
            console.print("not purged")
            return 1
    held = purge(target, sqs, dlq, urls[dlq])
    console.print(
        json.dumps({"purged": dlq, "messages": held}) if args.json else f"purged {dlq} ({held} message(s))"
    )
    return 0
