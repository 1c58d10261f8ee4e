"""Putting inbound events on the inbound FIFO queue: one group per session, the event id as dedup id.

Every transport's admitted events come here (the intake's gate, WebChat's owner posts), so the lane a
message takes is decided here once (`control_lane.py`): a trusted sender's control command also, or
only, goes on the session's control lane — the same queue, the group `control_group_id(session)` — and
so does a copy of an ordinary message of a `steer` or `interrupt` channel. An event with two copies
sends them in one `SendMessageBatch` (no more requests than one copy), unless they are too large to
share one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from clawbus.bus.queues import FifoMessage
from clawbus.bus.tracing import inject_context
from clawbus.ingress.control_lane import lanes_for
from clawbus.schemas import InboundEvent, attributes, deduplication_id, message_group_id
from clawbus.schemas.control import CONTROL_SUFFIX, control_group_id

BATCH_BYTES = 200_000  # two copies share one request below this (SQS caps a batch's payload at 256 KiB)


class QueueSender(Protocol):
    """Sends messages to a FIFO queue (`bus.queues.Queue`)."""

    async def send(self, body: str, *, group_id: str, dedup_id: str, attributes: dict[str, str]) -> str: ...

    async def send_many(self, messages: Sequence[FifoMessage]) -> list[str]: ...


class InboundPublisher:
    """Enqueues inbound events for the dispatcher, each on its lanes."""

    def __init__(
        self,
        queue: QueueSender,
        reset_triggers: Sequence[str] = ("/new", "/reset"),
        mode_for: Callable[[str], str] | None = None,
    ) -> None:
        self._queue = queue
        self._reset_triggers = tuple(reset_triggers)
        self._mode_for = mode_for  # a channel's configured queue mode (None: no mid-turn copies)

    async def publish(self, event: InboundEvent) -> str:
        """Send `event` on its lanes and return a message id; SQS drops the same event id sent again
        within 5 minutes. A control copy goes first, so it can act before the FIFO copy is queued."""
        mode = self._mode_for(event.channel) if self._mode_for is not None else None
        lanes = lanes_for(event, self._reset_triggers, mode)
        messages = []
        if lanes.control is not None:
            copy = event.model_copy(update={"control": lanes.control})
            messages.append(
                self._message(
                    copy,
                    control_group_id(event.session_key),
                    deduplication_id(event.event_id + CONTROL_SUFFIX),
                )
            )
        if lanes.fifo:
            messages.append(
                self._message(event, message_group_id(event.session_key), deduplication_id(event.event_id))
            )
        if len(messages) > 1 and sum(len(m.body.encode()) for m in messages) <= BATCH_BYTES:
            return (await self._queue.send_many(messages))[-1]
        message_id = ""
        for m in messages:
            message_id = await self._queue.send(
                m.body, group_id=m.group_id, dedup_id=m.dedup_id, attributes=dict(m.attributes)
            )
        return message_id

    def _message(self, event: InboundEvent, group_id: str, dedup_id: str) -> FifoMessage:
        return FifoMessage(
            event.to_wire(),
            group_id,
            dedup_id,
            {attributes.CHANNEL: event.channel, attributes.KIND: event.kind.value, **inject_context()},
        )
