"""The dispatcher's handler for one inbound message: decode, invoke the agent, publish the reply.

The reply is published before the message is deleted (the consumer deletes after this returns), with
the turn's stable `reply_id` as the SNS deduplication id: a turn retried after a crash publishes the
same id, which SNS FIFO drops inside its 5-minute window and egress refuses after it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from opentelemetry import trace

from clawbus.bus.envelopes import decode_inbound
from clawbus.bus.logging import log_event, session_ref
from clawbus.bus.queues import ReceivedMessage
from clawbus.bus.tracing import current_traceparent, extract_context, inject_context, tracer
from clawbus.dispatcher.core import build_reply, build_request
from clawbus.schemas import AgentRequest, AgentResponse, OutboundReply, attributes, message_group_id

logger = logging.getLogger(__name__)
_tracer = tracer(__name__)


class Agent(Protocol):
    """Runs one turn (AgentCore in production; anything with this method in a test)."""

    async def invoke(self, request: AgentRequest, *, traceparent: str | None = None) -> AgentResponse: ...


class ReplyPublisher(Protocol):
    """Publishes reply envelopes to the outbound topic."""

    async def publish(
        self, body: str, *, group_id: str, dedup_id: str, attributes: dict[str, str]
    ) -> None: ...


class TurnHandler:
    """Handles one inbound message as one turn (`followup` mode)."""

    def __init__(
        self, agent: Agent, replies: ReplyPublisher, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._agent = agent
        self._replies = replies
        self._clock = clock

    async def __call__(self, unit: list[ReceivedMessage]) -> None:
        """Run the turn for the unit's message; raises a classified error when it cannot."""
        message = unit[0]
        parent = extract_context(message.attributes)
        with _tracer.start_as_current_span(
            "dispatcher.turn", context=parent, kind=trace.SpanKind.CONSUMER
        ) as span:
            event = decode_inbound(message.body)
            span.set_attribute("messaging.message.id", message.message_id)
            started = time.monotonic()
            request = build_request([event])
            response = await self._agent.invoke(request, traceparent=current_traceparent())
            reply = build_reply(request, response, self._clock())
            if reply is not None:
                await self._publish(reply)
            log_event(
                logger,
                "dispatcher.turn.completed",
                event_id=event.event_id,
                reply_id=request.reply_id,
                channel=event.channel,
                session=session_ref(event.session_key),
                parts=len(reply.parts) if reply else 0,
                duration_ms=round((time.monotonic() - started) * 1000, 1),
            )

    async def _publish(self, reply: OutboundReply) -> None:
        await self._replies.publish(
            reply.to_wire(),
            group_id=message_group_id(reply.session_key),
            dedup_id=reply.reply_id,
            attributes={
                attributes.CHANNEL: reply.channel,
                attributes.KIND: reply.kind.value,
                **inject_context(),
            },
        )
