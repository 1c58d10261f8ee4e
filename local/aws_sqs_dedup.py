"""The loopback AWS API's SQS FIFO deduplication: an id kept 5 minutes from its first send, deleted or
not, per group under `DeduplicationScope=messageGroup` (see `first_within_window`). Used by
`local.aws_fifo.keep_fifo_group_order`'s `SendMessage`, under its lock."""

from __future__ import annotations

from typing import Any

from clawbus.local.aws_sqs_wakeups import changed

DEDUPLICATION_WINDOW_MS = 5 * 60 * 1000  # SQS FIFO's deduplication interval


def first_within_window(queue: Any, message: Any, window_ms: float = DEDUPLICATION_WINDOW_MS) -> bool:
    """Whether `message` is the first sent to FIFO `queue` under its deduplication id (within its group,
    when the queue deduplicates per group) in the last 5 minutes; it is remembered either way.

    SQS keeps a deduplication id for the 5 minutes after its first send, whether or not the message was
    received and deleted meanwhile. moto 5.2.5 compares a new message only with the messages still in
    the queue, so a platform's retry that came after the first copy was answered and deleted was
    delivered again, and it ignores `DeduplicationScope=messageGroup`, so one id in two groups was
    delivered once. The ids seen live on the queue object and so in the API's saved state; a restart
    that replays the journal sees each send again at replay time, which keeps an id a little longer
    than SQS would, never shorter. `window_ms` is SQS's 5 minutes unless the API was started with another
    (`clawbus local-aws --dedup-window`, for tests of retries that come after SQS has forgotten an id)."""
    seen: dict[tuple[str | None, str], int] | None = getattr(queue, "_clawbus_dedup_seen", None)
    if seen is None:
        seen = queue._clawbus_dedup_seen = {}
    now = int(message.sent_timestamp)
    while seen:  # oldest first (insertion order): stop at the first one still in its window
        oldest = next(iter(seen))
        if now - seen[oldest] < window_ms:
            break
        del seen[oldest]
    per_group = queue.attributes.get("DeduplicationScope") == "messageGroup"
    key = (message.group_id if per_group else None, str(message.deduplication_id))
    if key in seen:
        return False
    seen[key] = now
    return True


def append(queue: Any, message: Any) -> None:
    """Put `message` at the end of `queue` and wake its long polls (`aws_sqs_wakeups`), as moto's
    `add_message` does after its own deduplication check."""
    with queue._messages_lock:
        queue._messages.append(message)
    changed(queue)
