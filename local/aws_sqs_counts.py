"""The loopback AWS API's SQS queue depth: moto 5.2.5's message counts read at one instant (see
`count_at_one_instant`). Patched into moto by `local.aws_fifo.keep_fifo_group_order`, under its lock."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def count_at_one_instant(models: Any, lock: threading.RLock) -> None:
    """Make `GetQueueAttributes`' message counts one snapshot, as a queue's depth must be.

    moto 5.2.5 computes `ApproximateNumberOfMessages` and `…NotVisible` one after the other, each from its
    own clock reading and while other requests change the list: a message whose visibility timeout ended
    between the two readings was in neither, so a queue holding one message in flight could read as
    empty (an egress test waiting for "depth 0" went on before the reply had been sent again). Here the
    attributes are read under the queue lock (`keep_fifo_group_order`), once per request (moto read them
    again for each name asked), and every count uses the one instant the read began."""
    from moto.core.utils import unix_time_millis

    read_at = threading.local()
    sending = threading.local()  # `depth`: sends under way in this thread (SendMessageBatch nests)
    attributes = models.Queue.attributes.fget

    def snapshot(self: Any) -> dict[str, Any]:
        if getattr(sending, "depth", 0):
            return dict(attributes(self))  # settings only: the counts below are skipped
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
        if getattr(sending, "depth", 0):
            return 0
        t = now()
        return sum(1 for m in self._messages if t > m.visible_at and not t < m.delayed_until)

    def not_visible(self: Any) -> int:
        if getattr(sending, "depth", 0):
            return 0
        t = now()
        return sum(1 for m in self._messages if not t > m.visible_at)

    def delayed(self: Any) -> int:
        if getattr(sending, "depth", 0):
            return 0
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

    def without_counts(method: Callable[P, R]) -> Callable[P, R]:
        """`method` (a send), reading a queue's settings without counting its messages.

        moto 5.2.5 reads the whole `Queue.attributes` four times per message sent, only to find
        `ContentBasedDeduplication`: each reading counted every message three times, so a send cost
        grew with the queue's depth. A send never answers with a count."""

        @functools.wraps(method)
        def send(*args: P.args, **kwargs: P.kwargs) -> R:
            sending.depth = getattr(sending, "depth", 0) + 1
            try:
                return method(*args, **kwargs)
            finally:
                sending.depth -= 1

        return send

    models.SQSBackend.send_message = without_counts(models.SQSBackend.send_message)
    models.SQSBackend.send_message_batch = without_counts(models.SQSBackend.send_message_batch)
