"""Putting inbound events on the inbound FIFO queue: one group per session, the event id as dedup id."""

from __future__ import annotations

from typing import Protocol

from clawbus.bus.tracing import inject_context
from clawbus.schemas import InboundEvent, attributes, deduplication_id, message_group_id


class QueueSender(Protocol):
    """Sends one message to a FIFO queue (`bus.queues.Queue`)."""

    async def send(self, body: str, *, group_id: str, dedup_id: str, attributes: dict[str, str]) -> str: ...


class InboundPublisher:
    """Enqueues inbound events for the dispatcher."""

    def __init__(self, queue: QueueSender) -> None:
        self._queue = queue

    async def publish(self, event: InboundEvent) -> str:
        """Send `event` and return its message id; SQS drops the same event id sent again within 5 minutes."""
        return await self._queue.send(
            event.to_wire(),
            group_id=message_group_id(event.session_key),
            dedup_id=deduplication_id(event.event_id),
            attributes={
                attributes.CHANNEL: event.channel,
                attributes.KIND: event.kind.value,
                **inject_context(),
            },
        )
