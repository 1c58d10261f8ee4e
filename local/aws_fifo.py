"""The loopback AWS API's SQS FIFO semantics: moto 5.2.5's receive, delete and visibility changes made
to keep a group's order as SQS does (see `keep_fifo_group_order`). Patched into moto before it serves."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import threading
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar

from pydantic import BaseModel

P = ParamSpec("P")
R = TypeVar("R")

_receives = threading.local()  # `found`: the list this thread's receives report to, while recording
_replay = threading.Event()  # set while a journal is replayed (before the API serves)
DEDUPLICATION_WINDOW_MS = 5 * 60 * 1000  # SQS FIFO's deduplication interval


@contextlib.contextmanager
def replaying() -> Iterator[None]:
    """Within the block, a visibility change is applied even to a message whose deadline passed while
    the API was down: replayed, it extends from now, so the message stays in flight at least as long as
    its consumer had asked (a keeper's extension must not be lost to a restart)."""
    _replay.set()
    try:
        yield
    finally:
        _replay.clear()


class HandedOut(BaseModel):
    """One message a receive handed out: which message (its FIFO group, deduplication id and body's
    digest identify it again after a replay gave it a new message id), its receipt handle, until when
    it is in flight (Unix ms) and its receive count."""

    group_id: str | None
    deduplication_id: str | None
    body_sha256: str
    receipt_handle: str
    visible_at: float
    receive_count: int


class Received(BaseModel):
    """What one ReceiveMessage call handed out of one queue."""

    account_id: str
    region: str
    queue: str
    messages: list[HandedOut]


def _digest(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()


@contextlib.contextmanager
def recording_receives() -> Iterator[list[Received]]:
    """Within the block, every receive this thread runs reports what it handed out to the list."""
    found: list[Received] = []
    _receives.found = found
    try:
        yield found
    finally:
        _receives.found = None


def restore_received(received: Received) -> int:
    """Put the messages of a journaled receive back in flight, with the receipt handles their consumers
    hold and the deadlines they had (a restart of the API does not hand them out again early, and
    their consumers' deletes still match); how many were found."""
    from moto.sqs import models

    backend = models.sqs_backends[received.account_id][received.region]
    queue = backend.queues.get(received.queue)
    if queue is None:
        return 0
    restored = 0
    for item in received.messages:
        found = next(
            (
                m
                for m in queue._messages
                if m.group_id == item.group_id
                and m.deduplication_id == item.deduplication_id
                and _digest(m.body) == item.body_sha256
            ),
            None,
        )
        if found is None:
            continue
        if found.receipt_handle is not None:
            found._old_receipt_handles.append(found.receipt_handle)
        found.receipt_handle = item.receipt_handle
        found.visible_at = item.visible_at
        found.approximate_receive_count = max(found.approximate_receive_count, item.receive_count)
        queue.pending_messages.add(found)
        restored += 1
    return restored


def _report(backend: Any, queue: Any, taken: list[Any]) -> None:
    found: list[Received] | None = getattr(_receives, "found", None)
    if found is None or not taken:
        return
    messages = [
        HandedOut(
            group_id=m.group_id,
            deduplication_id=m.deduplication_id,
            body_sha256=_digest(m.body),
            receipt_handle=m.receipt_handle,
            visible_at=m.visible_at,
            receive_count=m.approximate_receive_count,
        )
        for m in taken
    ]
    found.append(
        Received(
            account_id=backend.account_id, region=backend.region_name, queue=queue.name, messages=messages
        )
    )


def keep_fifo_group_order(dedup_window_s: float = DEDUPLICATION_WINDOW_MS / 1000) -> None:
    """Make moto's ReceiveMessage keep FIFO groups as SQS does, with concurrent consumers and after crashes.

    moto 5.2.5 walks the queue without a lock and decides once per call (from a copy taken before its long
    poll waits) which groups are busy, and counts a received message as busy until a walk passes it
    visible again. So a consumer killed holding several messages of a group got the group's *last* one
    handed out first, and two receives running at once (a restarted consumer beside the dead one's
    orphaned long poll) could each take a different message of one group. Here every pass of a receive
    runs under one lock, and a group is busy exactly while one of its received messages is still
    invisible (checked afresh on each pass, after each long-poll wait). A pass may still return several
    messages of one group, in order, as SQS does.

    The same lock covers every other change to a queue's messages (send, delete, visibility change,
    purge): moto makes them from request threads with no lock of its own, so a delete that discarded an
    in-flight message while a receive was walking the in-flight set raised `RuntimeError: Set changed
    size during iteration` (a 500; clients retried it), and a delete rebuilding the message list could
    drop a message sent meanwhile. The lock is reentrant: a receive that dead-letters adds to another
    queue under it.

    A FIFO deduplication id is kept `dedup_window_s` from its first send (`first_within_window`).
    """
    import copy

    from moto.core.utils import unix_time
    from moto.sqs import models
    from moto.sqs.exceptions import ReceiptHandleIsInvalid

    class MessageNotInflight(ReceiptHandleIsInvalid):  # a batch entry reports it as an invalid receipt
        def __init__(self) -> None:
            super().__init__()
            self.error_type = "MessageNotInflight"

    lock = threading.RLock()

    def take(
        backend: models.SQSBackend,
        queue: models.Queue,
        count: int,
        visibility_timeout: int,
        attribute_names: list[str],
    ) -> list[models.Message]:
        pending = queue.pending_messages
        busy = {m.group_id for m in pending if m.group_id is not None and not m.visible}
        pending.difference_update([m for m in pending if m.visible])  # their consumers timed out
        taken: list[models.Message] = []
        to_dead_letter: list[models.Message] = []
        for message in queue.messages:  # the visible ones, in the order they were sent
            if queue.fifo_queue and message.group_id in busy:
                continue
            policy = queue.redrive_policy
            if (
                queue.dead_letter_queue is not None
                and policy
                and (message.approximate_receive_count >= policy["maxReceiveCount"])
            ):
                to_dead_letter.append(message)
                continue
            if not backend.is_message_valid_based_on_retention_period(queue.name, message):
                break
            pending.add(message)
            message.mark_received(visibility_timeout=visibility_timeout)
            shown = copy.deepcopy(message)  # attribute filtering must not change the stored message
            models._filter_message_attributes(shown, attribute_names)
            taken.append(shown)
            if len(taken) >= count:
                break
        for message in to_dead_letter:
            queue._messages.remove(message)
            _append(queue.dead_letter_queue, message)  # a move, not a send: no deduplication (as SQS)
        return taken

    def receive_message(
        self: models.SQSBackend,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list[models.Message]:
        queue = self.get_queue(queue_name)
        deadline = unix_time() + wait_seconds_timeout
        while True:
            with lock:
                taken = take(self, queue, count, visibility_timeout, message_attribute_names or [])
                _report(self, queue, taken)
            if taken or unix_time() >= deadline:
                return taken
            queue.wait_for_messages(1)  # outside the lock (and outside the snapshot gate)

    models.SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
    moto_add = models.Queue.add_message

    def add_message(self: models.Queue, message: models.Message) -> None:
        if self.fifo_queue and message.deduplication_id is not None:
            if not first_within_window(self, message, window_ms=dedup_window_s * 1000):
                return  # SQS accepts the send and never delivers it
            if not self.lambda_event_source_mappings:  # moto's own path also feeds Lambda (unused here)
                _append(self, message)
                return
        moto_add(self, message)

    models.Queue.add_message = _under(lock, add_message)  # type: ignore[method-assign]
    models.Queue.delete_message = _under(lock, models.Queue.delete_message)  # type: ignore[method-assign]
    change = models.SQSBackend.change_message_visibility

    def change_message_visibility(
        self: models.SQSBackend, queue_name: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        # SQS refuses to change a message that is no longer in flight; moto hid it without counting it
        # in flight, so its FIFO group went on without it (a late visibility extension overtook a
        # give-back, and the next message of the group was handed out first).
        queue = self.get_queue(queue_name)
        found = next((m for m in queue._messages if m.had_receipt_handle(receipt_handle)), None)
        if found is not None and found.visible and not _replay.is_set():
            raise MessageNotInflight()
        change(self, queue_name, receipt_handle, visibility_timeout)

    models.SQSBackend.change_message_visibility = _under(  # type: ignore[method-assign]
        lock, change_message_visibility
    )
    models.SQSBackend.purge_queue = _under(lock, models.SQSBackend.purge_queue)  # type: ignore[method-assign]
    _count_at_one_instant(models, lock)


def _count_at_one_instant(models: Any, lock: threading.RLock) -> None:
    """Make `GetQueueAttributes`' message counts one snapshot, as a queue's depth must be.

    moto 5.2.5 computes `ApproximateNumberOfMessages` and `…NotVisible` one after the other, each from its
    own clock reading and while other requests change the list: a message whose visibility timeout ended
    between the two readings was in neither, so a queue holding one message in flight could read as
    empty (an egress test waiting for "depth 0" went on before the reply had been sent again). Here the
    attributes are read under the queue lock (`keep_fifo_group_order`), once per request (moto read them
    again for each name asked), and every count uses the one instant the read began."""
    from moto.core.utils import unix_time_millis

    read_at = threading.local()
    attributes = models.Queue.attributes.fget

    def snapshot(self: Any) -> dict[str, Any]:
        with lock:
            read_at.ms = unix_time_millis()
            try:
                return dict(attributes(self))
            finally:
                read_at.ms = None

    def now() -> float:
        at: float | None = getattr(read_at, "ms", None)
        return unix_time_millis() if at is None else at

    def visible(self: Any) -> int:  # moto's `Message.visible` and `.delayed`, at one instant
        t = now()
        return sum(1 for m in self._messages if t > m.visible_at and not t < m.delayed_until)

    def not_visible(self: Any) -> int:
        t = now()
        return sum(1 for m in self._messages if not t > m.visible_at)

    def delayed(self: Any) -> int:
        t = now()
        return sum(1 for m in self._messages if t < m.delayed_until)

    models.Queue.attributes = property(snapshot)
    get_attributes = models.SQSBackend.get_queue_attributes

    def get_queue_attributes(self: Any, queue_name: str, attribute_names: list[str]) -> dict[str, Any]:
        # moto reads `queue.attributes` afresh for each name asked: answer from one reading
        with lock:
            named = get_attributes(self, queue_name, attribute_names)  # validates the names
            if not named or "All" in attribute_names:
                return named  # type: ignore[no-any-return]
            one = self.get_queue(queue_name).attributes
            return {name: one[name] for name in named if one.get(name) is not None}

    models.SQSBackend.get_queue_attributes = get_queue_attributes
    models.Queue.approximate_number_of_messages = property(visible)
    models.Queue.approximate_number_of_messages_not_visible = property(not_visible)
    models.Queue.approximate_number_of_messages_delayed = property(delayed)


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


def _append(queue: Any, message: Any) -> None:
    """Put `message` at the end of `queue` and wake its long polls, as moto's `add_message` does after
    its own deduplication check."""
    with queue._messages_lock:
        queue._messages.append(message)
        queue._messages_lock.notify_all()


def _under(lock: threading.RLock, method: Callable[P, R]) -> Callable[P, R]:
    """`method`, run holding `lock` (moto's own methods, made atomic with the receive's pass)."""

    @functools.wraps(method)
    def locked(*args: P.args, **kwargs: P.kwargs) -> R:
        with lock:
            return method(*args, **kwargs)

    return locked
