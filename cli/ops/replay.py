"""Replaying dead letters into the queue they came from, at most once per turn and reply.

Each letter is sent back with its body and MessageGroupId (the session, so it takes its place in the
session's order), without the six dead-letter attributes and with `clawbus.replay` = its DLQ message
id, under the deduplication id `replay:<DLQ message id>`. Only after the send succeeded is it deleted
from the DLQ. A crash between the two leaves it in the DLQ; the next replay sends the same dedup id,
which SQS drops within its 5-minute window, and after that the dispatcher's idempotency ledger (it reads
`clawbus.replay`) and egress's per-reply records make the repeat a no-op.

SQS's own redrive (`StartMessageMoveTask`) moves a whole DLQ server-side, but cannot filter, cannot
drop or add attributes and gives no per-message dedup id; `start_server_side_redrive` is used only when
asked for (`--server-side`, with `--all`), and says when the API lacks it (the loopback API does).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from clawbus.bus.errors import PermanentError
from clawbus.cli.ops.dead_letters import DeadLetter, give_back, receive_batch
from clawbus.schemas import attributes as attr

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from clawbus.cli.ops.target import OpsTarget

REPLAY_HIDE_S = 60
DROPPED = (
    attr.ERROR_TYPE,
    attr.ERROR_STAGE,
    attr.ERROR_REASON,
    attr.ATTEMPTS,
    attr.FIRST_SEEN,
    attr.SOURCE_QUEUE,
)


class RedriveUnsupported(PermanentError):
    """The endpoint has no `StartMessageMoveTask` (the loopback API); the CLI moves messages itself."""


@dataclass(frozen=True)
class ReplayFilter:
    """Which letters to replay: by id, by session, by reason (substring of type or reason), or all."""

    ids: frozenset[str] = frozenset()
    session: str | None = None
    reason: str | None = None
    everything: bool = False

    def matches(self, letter: DeadLetter) -> bool:
        """Whether `letter` is selected (foreign letters never are)."""
        if letter.foreign:
            return False
        if self.ids and letter.message_id not in self.ids:
            return False
        if self.session is not None and self.session not in (letter.field("session_key"), letter.group_id):
            return False
        if self.reason is not None:
            said = f"{letter.attributes.get(attr.ERROR_TYPE, '')} {letter.reason}".lower()
            if self.reason.lower() not in said:
                return False
        return self.everything or bool(self.ids) or self.session is not None or self.reason is not None


@dataclass
class ReplayReport:
    """What a replay did (or, dry, would do).

    `left` counts the letters it saw and did not replay (not selected, foreign, or a dry run);
    `unreached` the letters it could not receive at all: still hidden by another reader after
    `wait_hidden_s` (`hidden`), or queued behind a letter it kept in their session (`behind`: a FIFO
    queue serves no later letter of a group while an earlier one is hidden).
    """

    replayed: list[dict[str, str]] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    left: int = 0
    hidden: int = 0
    behind: int = 0
    dry_run: bool = False

    @property
    def unreached(self) -> int:
        """Letters still in the DLQ that this run never saw."""
        return self.hidden + self.behind


def replayed_attributes(letter: DeadLetter) -> dict[str, str]:
    """The attributes a replayed message carries: its own minus the dead-letter ones, plus the marker."""
    kept = {k: v for k, v in letter.attributes.items() if k not in DROPPED and v}
    kept[attr.REPLAY] = letter.message_id
    return kept


def _send_back(sqs: SQSClient, source_url: str, letter: DeadLetter) -> str:
    response = sqs.send_message(
        QueueUrl=source_url,
        MessageBody=letter.body,
        MessageGroupId=letter.group_id,
        MessageDeduplicationId=f"replay:{letter.message_id}",
        MessageAttributes={
            name: {"DataType": "String", "StringValue": value}
            for name, value in replayed_attributes(letter).items()
        },
    )
    return response["MessageId"]


def replay(
    target: OpsTarget,
    sqs: SQSClient,
    dlq: str,
    urls: Mapping[str, str],
    select: ReplayFilter,
    *,
    dry_run: bool = False,
    progress: Callable[[DeadLetter], None] | None = None,
    wait_hidden_s: float = REPLAY_HIDE_S,
    waiting: Callable[[int], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ReplayReport:
    """Replay the selected letters of `dlq` (`urls` holds the DLQ's and its source queue's URLs).

    Letters go back in the order the DLQ serves them (per session, the order they were dead-lettered).
    Letters another reader holds hidden (an interrupted replay hides its letters for `REPLAY_HIDE_S`, a
    `dlq list` for 20 s) are waited for, up to `wait_hidden_s` (`waiting` is told how many, once), then
    counted in `ReplayReport.hidden`. Safe to run again, and to interrupt: see the module docstring.
    """
    from clawbus.cli.ops.target import ops_errors

    report = ReplayReport(dry_run=dry_run)
    dlq_url = urls[dlq]
    quick_s = 0 if target.loopback else 1
    held: dict[str, DeadLetter] = {}
    deadline: float | None = None
    try:
        while True:
            wait_s = quick_s if deadline is None else int(min(20, max(1, deadline - clock())))
            with ops_errors(target, f"reading {dlq}"):
                batch = [
                    DeadLetter.from_sqs(dlq, raw)
                    for raw in receive_batch(sqs, dlq_url, REPLAY_HIDE_S, wait_s)
                ]
            fresh = [letter for letter in batch if letter.message_id not in held]
            for letter in batch:  # a kept letter whose hiding ran out is hidden again by this receive
                if letter.message_id in held:
                    held[letter.message_id] = letter
            if fresh:
                deadline = None
                for letter in fresh:
                    _handle(target, sqs, urls, letter, select, report, held, progress)
                continue
            if batch:
                continue
            hidden, behind = _unreached(target, sqs, dlq, dlq_url, len(held))
            if hidden == 0 or (deadline is not None and clock() >= deadline):
                report.hidden, report.behind = hidden, behind
                break
            if deadline is None:
                deadline = clock() + wait_hidden_s
                if waiting is not None:
                    waiting(hidden)
    finally:
        with ops_errors(target, f"giving back {dlq}"):
            give_back(sqs, dlq_url, [letter.receipt_handle for letter in held.values()])
    report.left = len(held) - (len(report.replayed) if dry_run else 0)
    return report


def _handle(
    target: OpsTarget,
    sqs: SQSClient,
    urls: Mapping[str, str],
    letter: DeadLetter,
    select: ReplayFilter,
    report: ReplayReport,
    held: dict[str, DeadLetter],
    progress: Callable[[DeadLetter], None] | None,
) -> None:
    """Replay one received letter, or keep it (hidden until the run ends) when it is not to be replayed."""
    from clawbus.cli.ops.target import ops_errors

    if letter.foreign:
        report.foreign.append(letter.message_id)
    if report.dry_run or not select.matches(letter):
        held[letter.message_id] = letter
        if report.dry_run and select.matches(letter):
            report.replayed.append(_line(letter, ""))
        return
    source = letter.source_queue
    with ops_errors(target, f"SendMessage {source}"):
        new_id = _send_back(sqs, urls[source], letter)
    with ops_errors(target, f"DeleteMessage {letter.dlq}"):
        sqs.delete_message(QueueUrl=urls[letter.dlq], ReceiptHandle=letter.receipt_handle)
    report.replayed.append(_line(letter, new_id))
    if progress is not None:
        progress(letter)


def _unreached(target: OpsTarget, sqs: SQSClient, dlq: str, url: str, kept: int) -> tuple[int, int]:
    """Letters of `dlq` a receive did not return: (hidden by another reader, visible behind a kept one)."""
    from clawbus.cli.ops.target import ops_errors

    with ops_errors(target, f"GetQueueAttributes {dlq}"):
        counts = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
    hidden = int(counts.get("ApproximateNumberOfMessagesNotVisible", "0")) - kept
    return max(0, hidden), int(counts.get("ApproximateNumberOfMessages", "0"))


def _line(letter: DeadLetter, new_id: str) -> dict[str, str]:
    return {
        "id": letter.message_id,
        "session": letter.field("session_key") or letter.group_id,
        "to": letter.source_queue,
        "new_id": new_id,
    }


def start_server_side_redrive(target: OpsTarget, sqs: SQSClient, urls: Mapping[str, str], dlq: str) -> str:
    """Start SQS's `StartMessageMoveTask` from `dlq` to its source queue; returns the task handle.

    Raises `RedriveUnsupported` on an endpoint without the API (the loopback one is known not to have it,
    and is not asked: moto answers an unknown action with a 500 that botocore retries).
    """
    from clawbus.cli.ops.target import ops_errors

    if target.loopback:
        raise RedriveUnsupported(f"{target.where} has no StartMessageMoveTask (moto)")
    source = dlq.removesuffix("-dlq.fifo") + ".fifo"
    with ops_errors(target, "GetQueueAttributes QueueArn"):
        arns = {
            name: sqs.get_queue_attributes(QueueUrl=urls[name], AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            for name in (dlq, source)
        }
    try:
        response = sqs.start_message_move_task(SourceArn=arns[dlq], DestinationArn=arns[source])
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in {"UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", "InvalidAction"}:
            raise RedriveUnsupported(f"{target.where} refused StartMessageMoveTask ({code})") from exc
        with ops_errors(target, "StartMessageMoveTask"):
            raise
    return response["TaskHandle"]
