"""The egress handler: decode a reply from the channel's queue and send it through the channel's sender."""

from __future__ import annotations

import asyncio
import logging

from opentelemetry import trace

from clawbus.bus.envelopes import decode_outbound
from clawbus.bus.errors import InvalidEnvelope
from clawbus.bus.logging import log_event, session_ref
from clawbus.bus.sqs_record import SqsRecord
from clawbus.bus.tracing import extract_context, tracer
from clawbus.channels.contracts import ReplySender
from clawbus.storage.claim_check import ClaimChecks

logger = logging.getLogger(__name__)
_tracer = tracer(__name__)


ChannelSender = ReplySender  # what the handler sends through: the channel's sender


class EgressHandler:
    """Handles one message of a channel's egress queue."""

    def __init__(
        self,
        channel: str,
        sender: ChannelSender,
        claim_checks: ClaimChecks | None = None,
        *,
        pause_before_delete_s: float = 0.0,
    ) -> None:
        self._channel = channel
        self._sender = sender
        self._claim_checks = claim_checks
        self._pause_before_delete_s = pause_before_delete_s

    async def __call__(self, unit: list[SqsRecord]) -> None:
        """Send each reply of the unit in order; raises a classified error when one cannot be sent."""
        for message in unit:
            await self._send(message)

    async def _send(self, message: SqsRecord) -> None:
        with _tracer.start_as_current_span(
            "egress.send", context=extract_context(message.attributes), kind=trace.SpanKind.CONSUMER
        ):
            body = await self._claim_checks.resolve(message.body) if self._claim_checks else message.body
            reply = decode_outbound(body)
            if reply.channel != self._channel:
                raise InvalidEnvelope(
                    f"reply for channel {reply.channel!r} on the {self._channel} egress queue"
                )
            await self._sender.send(reply)
            log_event(
                logger,
                "egress.send.completed",
                channel=self._channel,
                reply_id=reply.reply_id,
                session=session_ref(reply.session_key),
                parts=len(reply.parts),
            )
        if self._pause_before_delete_s:  # test-only fault window: sent and recorded, not yet deleted
            log_event(logger, "egress.test.pausing_before_delete", reply_id=reply.reply_id)
            await asyncio.sleep(self._pause_before_delete_s)
