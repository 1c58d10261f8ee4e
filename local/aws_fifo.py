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

from clawbus.local.aws_sqs_counts import count_at_one_instant
from clawbus.local.aws_sqs_dedup import DEDUPLICATION_WINDOW_MS, append, first_within_window
from clawbus.local.aws_sqs_wakeups import changed, changes, wait_for_change

P = ParamSpec("P")
R = TypeVar("R")

_receives = threading.local()  # `found`: the list this thread's receives report to, while recording
_replay = threading.Event()  # set while a journal is replayed (before the API serves)
_stopping = threading.Event()  # set when the API stops: long polls answer with what they have


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


def end_long_polls() -> None:
    """Make every waiting ReceiveMessage answer within a second with what it has (nothing), as the API
    stops: the server waits for its requests, and a long poll would hold it up to 20 s."""
    _stopping.set()


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

    from moto.core.utils import unix_time, unix_time_millis
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
        # One instant for the whole pass: moto's `Message.visible`/`.delayed` read the clock per message,
        # and its retention check reads the queue's attributes (counting every message) per message.
        now_ms = unix_time_millis()
        retain_s = int(getattr(queue, "message_retention_period"))  # set from the attribute by moto  # noqa: B009
        pending = queue.pending_messages
        busy = {m.group_id for m in pending if m.group_id is not None and not now_ms > m.visible_at}
        pending.difference_update([m for m in pending if now_ms > m.visible_at])  # their consumers timed out
        taken: list[models.Message] = []
        to_dead_letter: list[models.Message] = []
        visible = [m for m in queue._messages if now_ms > m.visible_at and not now_ms < m.delayed_until]
        for message in visible:  # in the order they were sent
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
            if retain_s + (message.sent_timestamp or 0) / 1000 <= now_ms / 1000:  # moto's retention rule
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
            append(queue.dead_letter_queue, message)  # a move, not a send: no deduplication (as SQS)
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
                _receives.seen = changes(queue)
                taken = take(self, queue, count, visibility_timeout, message_attribute_names or [])
                _report(self, queue, taken)
            left = deadline - unix_time()
            if taken or left <= 0 or _stopping.is_set():
                return taken
            queue.wait_for_messages(left)  # type: ignore[arg-type]  # ours (below) takes a float; outside the lock and the snapshot gate

    models.SQSBackend.receive_message = receive_message  # type: ignore[method-assign]

    def wait_for_messages(self: models.Queue, timeout: float) -> None:
        # moto's waits for any visible message, which a busy FIFO group's next one is: it would spin
        wait_for_change(self, getattr(_receives, "seen", changes(self)), timeout)

    models.Queue.wait_for_messages = wait_for_messages  # type: ignore[method-assign]  # park_long_polls wraps it
    moto_add = models.Queue.add_message

    def add_message(self: models.Queue, message: models.Message) -> None:
        if self.fifo_queue and message.deduplication_id is not None:
            if not first_within_window(self, message, window_ms=dedup_window_s * 1000):
                return  # SQS accepts the send and never delivers it
            if not self.lambda_event_source_mappings:  # moto's own path also feeds Lambda (unused here)
                append(self, message)
                return
        moto_add(self, message)
        changed(self)

    moto_delete = models.Queue.delete_message

    def delete_message(self: models.Queue, receipt_handle: str) -> None:
        moto_delete(self, receipt_handle)
        changed(self)  # its FIFO group is free

    models.Queue.add_message = under(lock, add_message)  # type: ignore[method-assign]
    models.Queue.delete_message = under(lock, delete_message)  # type: ignore[method-assign]
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
        changed(queue)

    models.SQSBackend.change_message_visibility = under(  # type: ignore[method-assign]
        lock, change_message_visibility
    )
    purge = models.SQSBackend.purge_queue

    def purge_queue(self: models.SQSBackend, queue_name: str) -> None:
        purge(self, queue_name)
        changed(self.get_queue(queue_name))

    models.SQSBackend.purge_queue = under(lock, purge_queue)  # type: ignore[method-assign]
    count_at_one_instant(models, lock)


def under(lock: threading.RLock, method: Callable[P, R]) -> Callable[P, R]:
    """`method`, run holding `lock` (moto's own methods, made atomic with each other)."""

    @functools.wraps(method)
    def locked(*args: P.args, **kwargs: P.kwargs) -> R:
        with lock:
            return method(*args, **kwargs)

    return locked
