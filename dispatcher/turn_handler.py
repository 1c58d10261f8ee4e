"""The dispatcher's handler: one unit of messages (one session) becomes one turn.

For a unit: decode each event (resolving claim-checked bodies); consult the turn ledger and republish
what is stored instead of running events already answered; move the agent's last route when the
turn's message is a trusted DM (`scheduled.LastRoutes`), or read it for a scheduled turn without a
target; run the turn through AgentCore, showing `typing` on the channel while a slow turn runs; record
the turn in the ledger; publish its reply. The consumer deletes the messages after this returns. Every
step is safe to repeat.

The ledger is read for every unit, first deliveries included (one `BatchGetItem` per turn): a message
received once can still carry an event already answered — a schedule's fire sent again by a firer that
took over a dead one's claim after the first copy was consumed, a letter SQS moved back from a DLQ
(`StartMessageMoveTask` sends new messages without `clawbus.replay`), an enqueue retried after a
timeout that had landed — and neither its receive count nor its attributes say so (issue 22).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Protocol

from opentelemetry import trace

from clawbus.bus.consumer import Plan, Unit
from clawbus.bus.envelopes import decode_inbound
from clawbus.bus.errors import ClawbusError, InvalidEnvelope
from clawbus.bus.logging import log_event, session_ref
from clawbus.bus.queues import ReceivedMessage
from clawbus.bus.settings import DispatcherSettings
from clawbus.bus.tracing import current_traceparent, extract_context, inject_context, tracer
from clawbus.dispatcher.core import (
    Pending,
    Route,
    block_reply,
    build_reply,
    build_request,
    destination,
    is_scheduled,
    needs_last_route,
    plan_turns,
    turn_moves_last_route,
    typing_signal,
)
from clawbus.dispatcher.ledger import Publication, StoredTurn, TurnLedger
from clawbus.dispatcher.scheduled import CronHistory, LastRoutes
from clawbus.schemas import (
    AgentRequest,
    AgentResponse,
    InboundEvent,
    OutboundReply,
    attributes,
    message_group_id,
)
from clawbus.schemas.claim_check import read_claim_check
from clawbus.storage.claim_check import ClaimChecks

logger = logging.getLogger(__name__)
_tracer = tracer(__name__)


class Agent(Protocol):
    """Runs one turn (AgentCore in production; anything with these methods in a test)."""

    async def invoke(self, request: AgentRequest, *, traceparent: str | None = None) -> AgentResponse: ...

    def stream(
        self, request: AgentRequest, *, traceparent: str | None = None
    ) -> AsyncIterator[str | AgentResponse]: ...


class ReplyPublisher(Protocol):
    """Publishes reply envelopes to the outbound topic."""

    async def publish(
        self, body: str, *, group_id: str, dedup_id: str, attributes: dict[str, str]
    ) -> None: ...


class TurnHandler:
    """Plans a session's run into turns and runs each turn exactly once in effect."""

    def __init__(
        self,
        agent: Agent,
        replies: ReplyPublisher,
        ledger: TurnLedger,
        claim_checks: ClaimChecks,
        settings: DispatcherSettings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        routes: LastRoutes | None = None,
        cron_history: CronHistory | None = None,
    ) -> None:
        self._agent = agent
        self._routes = routes
        self._cron_history = cron_history
        self._replies = replies
        self._ledger = ledger
        self._claim_checks = claim_checks
        self._settings = settings
        self._clock = clock
        self._decoded: dict[str, InboundEvent | InvalidEnvelope] = {}
        self.turns = 0
        self.republished = 0

    def plan(self, run: list[ReceivedMessage]) -> Plan:
        """The consumer's planner: decode the run and split it by the session's queue mode."""
        if len(self._decoded) > 10_000:  # entries of messages that failed and went elsewhere
            self._decoded.clear()
        pending = []
        for message in run:
            if message.message_id not in self._decoded and read_claim_check(message.body) is None:
                self._decoded[message.message_id] = self._try_decode(message.body)
            event = self._decoded.get(message.message_id)  # a claim-checked body is read in its own turn
            pending.append(
                Pending(
                    key=message.message_id,
                    event=event if isinstance(event, InboundEvent) else None,
                    sent_at_ms=int(message.sent_at.timestamp() * 1000),
                    receive_count=message.receive_count,
                )
            )
        queue = self._settings.queue
        plan = plan_turns(
            pending,
            mode_for=queue.mode_for,
            debounce_ms=queue.debounce_ms,
            cap=queue.cap,
            now_ms=int(self._clock().timestamp() * 1000),
        )
        by_key = {m.message_id: m for m in run}
        for key in plan.defer:
            self._decoded.pop(key, None)
        return Plan(
            units=[[by_key[k] for k in turn] for turn in plan.turns],
            deferred=[by_key[k] for k in plan.defer],
            defer_s=plan.defer_s,
        )

    @staticmethod
    def _try_decode(body: str) -> InboundEvent | InvalidEnvelope:
        try:
            return decode_inbound(body)
        except InvalidEnvelope as exc:
            return exc

    async def __call__(self, unit: Unit) -> None:
        """Run the unit's turn; raises a classified error when it cannot."""
        with _tracer.start_as_current_span(
            "dispatcher.turn", context=extract_context(unit[0].attributes), kind=trace.SpanKind.CONSUMER
        ) as span:
            span.set_attribute("messaging.batch.message_count", len(unit))
            events = [await self._event(message) for message in unit]
            now = self._clock()
            done = await self._ledger.lookup([e.event_id for e in events], now)
            for stored in {t.reply_id: t for t in done.values()}.values():
                await self._publish(stored)
                self.republished += 1
            events = [e for e in events if e.event_id not in done]
            if not events:
                self._forget(unit)
                return
            await self._run_turn(events, now)
            self._forget(unit)

    async def _event(self, message: ReceivedMessage) -> InboundEvent:
        cached = self._decoded.get(message.message_id)
        if isinstance(cached, InboundEvent):
            return cached
        if isinstance(cached, InvalidEnvelope):
            raise cached
        body = await self._claim_checks.resolve(message.body)
        event = decode_inbound(body)
        self._decoded[message.message_id] = event
        return event

    def _forget(self, unit: Unit) -> None:
        for message in unit:
            self._decoded.pop(message.message_id, None)

    async def _run_turn(self, events: list[InboundEvent], now: datetime) -> None:
        started = time.monotonic()
        request = build_request(events)
        last = events[-1]
        moved = turn_moves_last_route(events)  # only a trusted DM moves it, before the turn runs
        if moved is not None and self._routes is not None:
            await self._routes.remember(last, moved)
        known = await self._routes.lookup(last) if self._routes and needs_last_route(last) else None
        target = destination(last, known)
        if target is None and needs_last_route(last):
            log_event(
                logger,
                "dispatcher.delivery.skipped",
                event_id=last.event_id,
                kind=last.kind.value,
                session=session_ref(last.session_key),
                reason="no_last_route",
            )
        async with self._typing(request, show=not is_scheduled(last)):
            if target is not None and self._settings.block_streaming:
                publications = await self._streamed(request, target)
            else:
                response = await self._agent.invoke(request, traceparent=current_traceparent())
                reply = build_reply(request, response, target) if target is not None else None
                publications = [await self._publication(reply)] if reply is not None else []
        stored = await self._ledger.record(
            [e.event_id for e in events], StoredTurn(request.reply_id, tuple(publications)), now
        )
        if not self._settings.block_streaming:
            await self._publish(stored)
        elif stored.reply_id != request.reply_id or stored.publications != tuple(publications):
            await self._publish(stored)  # an earlier run's record stands: its blocks (dropped by id if sent)
        self.turns += 1
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        if self._cron_history is not None:
            asked = last.delivery is None or last.delivery.mode != "none"
            await self._cron_history.finished(
                last,
                delivered=bool(publications) if asked else None,
                duration_ms=duration_ms,
                now=self._clock(),
            )
        log_event(
            logger,
            "dispatcher.turn.completed",
            event_id=last.event_id,
            events=len(events),
            reply_id=request.reply_id,
            channel=last.channel,
            session=session_ref(last.session_key),
            parts=len(publications),
            kind=last.kind.value,
            delivered_to=target.channel if publications and target else None,
            duration_ms=duration_ms,
        )

    async def _streamed(self, request: AgentRequest, route: Route) -> list[Publication]:
        """Run the turn with block streaming, publishing each block the moment it arrives."""
        publications: list[Publication] = []
        async for item in self._agent.stream(request, traceparent=current_traceparent()):
            if isinstance(item, str) and item:
                publication = await self._publication(block_reply(request, item, len(publications), route))
                await self._send(publication)
                publications.append(publication)
        return publications

    async def _publication(self, reply: OutboundReply, dedup_id: str | None = None) -> Publication:
        return Publication(
            body=await self._claim_checks.offload(reply.to_wire()),
            channel=reply.channel,
            kind=reply.kind.value,
            group_id=message_group_id(reply.session_key),
            dedup_id=dedup_id or reply.reply_id,
        )

    async def _publish(self, stored: StoredTurn) -> None:
        for publication in stored.publications:
            await self._send(publication)

    async def _send(self, publication: Publication) -> None:
        await self._replies.publish(
            publication.body,
            group_id=publication.group_id,
            dedup_id=publication.dedup_id,
            attributes={
                attributes.CHANNEL: publication.channel,
                attributes.KIND: publication.kind,
                **inject_context(),
            },
        )

    @contextlib.asynccontextmanager
    async def _typing(self, request: AgentRequest, *, show: bool = True) -> AsyncIterator[None]:
        """Show `typing` on the channel if the turn is still running after `typing_after_ms`.

        Not for scheduled turns (`show` false): nobody is waiting, and their channel is not a chat.
        """
        if not show:
            yield
            return

        async def keep_typing() -> None:
            await asyncio.sleep(self._settings.typing_after_ms / 1000)
            beat = 0
            while True:
                signal = typing_signal(request, self._clock())
                with contextlib.suppress(ClawbusError):  # presence is best effort
                    await self._send(await self._publication(signal, f"{request.reply_id}-typing-{beat}"))
                beat += 1
                await asyncio.sleep(self._settings.typing_every_s)

        task = asyncio.create_task(keep_typing())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
