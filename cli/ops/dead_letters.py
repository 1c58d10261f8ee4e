"""Reading dead letters without consuming them, finding one by id, and purging a DLQ.

SQS has no "peek": a message is read by receiving it, which hides it for a visibility timeout. So
`peek_letters` receives with a short timeout and gives every message back at once (visibility 0). While
it runs, a listed message is briefly invisible, and since a FIFO queue serves a group only while none of
its messages is in flight, one receive shows at most the first ten dead letters of a session.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from clawbus.bus.errors import ConfigError, TargetGone
from clawbus.schemas import attributes as attr

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from clawbus.cli.ops.target import OpsTarget

PEEK_HIDE_S = 20
PEEK_LIMIT = 1000


@dataclass(frozen=True)
class DeadLetter:
    """One message in a dead-letter queue, as an operator sees it."""

    message_id: str
    receipt_handle: str
    dlq: str
    body: str
    group_id: str
    sent_at: datetime
    receive_count: int
    attributes: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_sqs(cls, dlq: str, raw: Mapping[str, Any]) -> DeadLetter:
        """Build from one entry of `ReceiveMessage`'s `Messages`."""
        system = raw.get("Attributes", {})
        return cls(
            message_id=raw["MessageId"],
            receipt_handle=raw["ReceiptHandle"],
            dlq=dlq,
            body=raw.get("Body", ""),
            group_id=system.get("MessageGroupId", ""),
            sent_at=datetime.fromtimestamp(int(system.get("SentTimestamp", "0")) / 1000, UTC),
            receive_count=int(system.get("ApproximateReceiveCount", "1")),
            attributes={
                name: value["StringValue"]
                for name, value in raw.get("MessageAttributes", {}).items()
                if "StringValue" in value
            },
        )

    @property
    def envelope(self) -> dict[str, Any] | None:
        """The clawbus envelope in the body, or None when the body is not one of ours."""
        try:
            body = json.loads(self.body)
        except ValueError:
            return None
        if isinstance(body, dict) and "schema_version" in body and "session_key" in body:
            return body
        return None

    @property
    def foreign(self) -> bool:
        """Not a clawbus envelope: listed, never replayed."""
        return self.envelope is None

    @property
    def source_queue(self) -> str:
        """The queue this letter came from (a DLQ serves exactly one queue: its name without `-dlq`)."""
        return self.dlq.removesuffix("-dlq.fifo") + ".fifo"

    @property
    def reason(self) -> str:
        """Why it was dead-lettered, as recorded then (SQS's own redrive records nothing)."""
        if attr.ERROR_REASON in self.attributes:
            return self.attributes[attr.ERROR_REASON]
        if self.foreign:
            return "not a clawbus envelope"
        return "moved by SQS after too many receives (no reason recorded)"

    def field(self, name: str) -> str:
        """A string field of the envelope ('' when absent or foreign)."""
        value = (self.envelope or {}).get(name)
        return value if isinstance(value, str) else ""

    def summary(self, now: datetime) -> dict[str, Any]:
        """What `dlq list` shows for this letter."""
        return {
            "id": self.message_id,
            "queue": self.dlq,
            "source": self.source_queue,
            "foreign": self.foreign,
            "session": self.field("session_key") or self.group_id,
            "channel": self.field("channel") or self.attributes.get(attr.CHANNEL, ""),
            "age_s": round(max(0.0, (now - self.sent_at).total_seconds()), 1),
            "attempts": int(self.attributes[attr.ATTEMPTS]) if attr.ATTEMPTS in self.attributes else None,
            "error_type": self.attributes.get(attr.ERROR_TYPE, ""),
            "stage": self.attributes.get(attr.ERROR_STAGE, ""),
            "reason": self.reason,
            "first_seen": self.attributes.get(attr.FIRST_SEEN, ""),
        }


def receive_batch(sqs: SQSClient, url: str, hide_s: int, wait_s: int) -> list[Mapping[str, Any]]:
    """One receive of up to ten messages with every attribute, hidden for `hide_s`."""
    response = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=hide_s,
        WaitTimeSeconds=wait_s,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    )
    return list(response.get("Messages", []))


def give_back(sqs: SQSClient, url: str, handles: list[str]) -> None:
    """Make received messages visible again now (batches of ten)."""
    for start in range(0, len(handles), 10):
        chunk = handles[start : start + 10]
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for i, handle in enumerate(chunk)
            ],
        )


def peek_letters(
    target: OpsTarget,
    sqs: SQSClient,
    dlq: str,
    url: str,
    *,
    stop: Callable[[DeadLetter], bool] | None = None,
    limit: int = PEEK_LIMIT,
) -> list[DeadLetter]:
    """Every dead letter reachable in `dlq` now (up to `limit`), given back before returning.

    `stop` ends the scan early when it returns True for a letter (used to find one id).
    """
    from clawbus.cli.ops.target import ops_errors

    wait_s = 0 if target.loopback else 1  # AWS short polling samples servers; a 1 s long poll sees all
    letters: dict[str, DeadLetter] = {}
    with ops_errors(target, f"reading {dlq}"):
        try:
            while len(letters) < limit:
                fresh = [
                    DeadLetter.from_sqs(dlq, raw)
                    for raw in receive_batch(sqs, url, PEEK_HIDE_S, wait_s)
                    if raw["MessageId"] not in letters
                ]
                if not fresh:
                    break
                letters.update((letter.message_id, letter) for letter in fresh)
                if stop is not None and any(stop(letter) for letter in fresh):
                    break
        finally:
            give_back(sqs, url, [letter.receipt_handle for letter in letters.values()])
    return sorted(letters.values(), key=lambda letter: letter.sent_at)


def find_letter(target: OpsTarget, sqs: SQSClient, urls: Mapping[str, str], message_id: str) -> DeadLetter:
    """The dead letter with SQS MessageId `message_id` in any of the DLQs `urls`; `TargetGone` if none."""
    for dlq, url in urls.items():
        for letter in peek_letters(target, sqs, dlq, url, stop=lambda m: m.message_id == message_id):
            if letter.message_id == message_id:
                return letter
    raise TargetGone(
        f"no dead letter with id {message_id} in {', '.join(urls)} — 'clawbus dlq list' shows the ids"
    )


def purge(target: OpsTarget, sqs: SQSClient, dlq: str, url: str) -> int:
    """Delete every message in `dlq`; returns how many it held (approximately, as SQS counts)."""
    from clawbus.cli.ops.target import ops_errors

    if not dlq.endswith("-dlq.fifo"):
        raise ConfigError(f"{dlq} is not a dead-letter queue; only DLQs can be purged here")
    with ops_errors(target, f"PurgeQueue {dlq}"):
        held = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        sqs.purge_queue(QueueUrl=url)
    return int(held.get("Attributes", {}).get("ApproximateNumberOfMessages", "0"))
