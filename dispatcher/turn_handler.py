"""The dispatcher's handler: one unit of messages (one session) becomes one turn.

For a unit, in order: decode each event (resolving claim-checked bodies, `run_planner.DecodedEvents`);
read the turn ledger (finished turns and recorded intents); read the agent's last route when a
scheduled turn without a target needs it; `core.decide_turn` says the rest: republish what the ledger
holds instead of running events already answered, move the last route when the turn's message is a
trusted DM (`scheduled.LastRoutes`), where the answer goes; record the turn's intent (its events and
reply id) unless an earlier run did or the planner found that no later plan could regroup its one
message (`RunPlanner.intent_free`); then run the turn through AgentCore with `typing` shown while it
is slow (`presence.Presence`), streaming its blocks or publishing its answer (`publisher.Publisher`),
record it in the ledger, write a cron job's history and log. The consumer deletes the messages after this
returns. Every step is safe to repeat. Each turn run is noted with `FailureNotices`, so a turn the
consumer gives up (dead-letters) tells its user in one short error reply (`failure_notice.py`).

The ledger is read for every unit, first deliveries included: the first turn of a run uses what the
planner read for the run (asked with the session's `/queue` override, in a `BatchGetItem` that the
concurrent runs share: `RunPlanner.read_at_plan`), a later turn of the run reads when it starts (the
turns before it have written since). A message received once can still carry an event already
answered — a schedule's fire sent again by a firer that took over a dead one's claim after the first
copy was consumed, a letter SQS moved back from a DLQ (`StartMessageMoveTask` sends new messages
without `clawbus.replay`), an enqueue retried after a timeout that had landed — and neither its
receive count nor its attributes say so (issue 22).

A control copy (`/stop`, `/status`, `/queue`, a reset's stop, a mid-turn message's `steer` or
`interrupt`) is handed to the control lane (`control.py`) instead; the messages a turn's answer says
were steered into it are recorded with the turn (`steered.py`); a message the planner dropped
(`interrupt`, or over the queue's cap) is consumed without a turn. Each unit's start and end are
noted in `SessionActivity`, which tells the planner which of a session's next messages arrived while
its turn ran.

One clock, injected, says what time it is (the ledger's expiry, the planner's debounce, presence
timestamps, cron history); durations come from `time.monotonic`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Protocol

from opentelemetry import trace

from clawbus.bus.clock import Clock, utc_now
from clawbus.bus.consumer import Plan, Unit
from clawbus.bus.logging import log_event, session_ref
from clawbus.bus.settings import DispatcherSettings
from clawbus.bus.sqs_record import SqsRecord
from clawbus.bus.tracing import current_traceparent, extract_context, tracer
from clawbus.dispatcher.control import ControlLane
from clawbus.dispatcher.core import block_reply, build_reply
from clawbus.dispatcher.core.heartbeat_target import HeartbeatTargets
from clawbus.dispatcher.core.progress_plan import DraftTiming, ProgressNote
from clawbus.dispatcher.core.turn_decision import (
    TurnPlan,
    decide_turn,
    publications_to_send,
    route_to_look_up,
)
from clawbus.dispatcher.failure_notice import FailureNotices
from clawbus.dispatcher.ledger import Publication, StoredTurn, TurnLedger
from clawbus.dispatcher.media_fetch import MediaFetch
from clawbus.dispatcher.presence import Presence
from clawbus.dispatcher.progress import answer_with_draft
from clawbus.dispatcher.publisher import Publisher, ReplyPublisher
from clawbus.dispatcher.run_planner import DecodedEvents, RunPlanner
from clawbus.dispatcher.scheduled import CronHistory, LastRoutes
from clawbus.dispatcher.session_activity import RunningTurn, SessionActivity
from clawbus.dispatcher.session_queues import SessionQueues
from clawbus.dispatcher.steered import WatchedAgent, recorded_event_ids
from clawbus.schemas import AgentRequest, AgentResponse, InboundEvent
from clawbus.storage.claim_check import ClaimChecks

logger = logging.getLogger(__name__)
_tracer = tracer(__name__)

__all__ = ["Agent", "ReplyPublisher", "TurnHandler"]


def _once_each(events: list[InboundEvent]) -> list[InboundEvent]:
    """The unit's events, a repeated event id kept once (a platform's retry enqueued past SQS's 5-minute
    dedup window can land in the same run as the first copy: one turn answers both)."""
    first: dict[str, InboundEvent] = {}
    for event in events:
        first.setdefault(event.event_id, event)
    return list(first.values())


class Agent(Protocol):
    """Runs one turn (AgentCore in production; anything with these methods in a test)."""

    async def invoke(self, request: AgentRequest, *, traceparent: str | None = None) -> AgentResponse: ...

    def stream(
        self, request: AgentRequest, *, traceparent: str | None = None
    ) -> AsyncIterator[str | AgentResponse | ProgressNote]: ...


class TurnHandler:
    """Plans a session's run into turns and runs each turn exactly once in effect."""

    def __init__(
        self,
        agent: Agent,
        replies: ReplyPublisher,
        ledger: TurnLedger,
        claim_checks: ClaimChecks,
        settings: DispatcherSettings,
        clock: Clock = utc_now,
        routes: LastRoutes | None = None,
        cron_history: CronHistory | None = None,
        queues: SessionQueues | None = None,
        draft_channels: frozenset[str] = frozenset(),
        media: MediaFetch | None = None,
        notices: FailureNotices | None = None,
        heartbeats: HeartbeatTargets | None = None,
    ) -> None:
        self._agent = agent
        self._heartbeats = heartbeats  # where each agent's heartbeat answer goes (its `target`)
        self._notices = notices
        self._media = media  # fetches the turn's files before it runs (issue 20)
        self._ledger = ledger
        self._settings = settings
        self._clock = clock
        self._routes = routes
        self._cron_history = cron_history
        self._decoded = DecodedEvents(claim_checks)
        self._publisher = Publisher(replies, claim_checks)
        self._presence = Presence(self._publisher, settings, clock)
        self._activity = SessionActivity()
        self._planner = RunPlanner(
            self._decoded,
            settings.queue,
            clock,
            ledger.state,
            self._activity,
            queues.get if queues else None,
        )
        self.plan: Callable[[list[SqsRecord]], Awaitable[Plan]] = self._planner
        self._control = ControlLane(agent, self._publisher, settings.queue, self._activity, queues, clock)
        self.turns = 0
        self.republished = 0
        self._draft_channels = draft_channels  # progress drafts (issue 21): `progress.py`
        self._draft_timing = DraftTiming(
            settings.draft_after_ms / 1000, settings.draft_every_ms / 1000, settings.cold_start_ms / 1000
        )

    async def __call__(self, unit: Unit) -> None:
        """Run the unit's turn (or its control command, or drop it); raises a classified error when it
        cannot."""
        intent_free = len(unit) == 1 and unit[0].message_id in self._planner.intent_free
        self._planner.intent_free.discard(unit[0].message_id)
        if len(unit) == 1 and unit[0].message_id in self._planner.dropped:
            self._planner.dropped.discard(unit[0].message_id)
            log_event(logger, "dispatcher.message.dropped", message_id=unit[0].message_id)
            self._decoded.forget(unit)
            return
        first = await self._decoded.event(unit[0])
        if first.control is not None:
            await self._control(first)
            self._decoded.forget(unit)
            return
        group = unit[0].group_id
        self._activity.started(group, RunningTurn(len(unit), int(self._clock().timestamp() * 1000)))
        try:
            await self._turn(unit, intent_free=intent_free)
        finally:
            self._activity.ended(group, int(self._clock().timestamp() * 1000))

    async def _turn(self, unit: Unit, *, intent_free: bool) -> None:
        with _tracer.start_as_current_span(
            "dispatcher.turn", context=extract_context(unit[0].attributes), kind=trace.SpanKind.CONSUMER
        ) as span:
            span.set_attribute("messaging.batch.message_count", len(unit))
            events = _once_each([await self._decoded.event(message) for message in unit])
            if self._heartbeats is not None:
                events = [self._heartbeats.resolve(event) for event in events]
            now = self._clock()
            ledger = self._planner.read_at_plan.pop(unit[0].message_id, None)
            if ledger is None:  # not the first turn of its run's plan: read it now
                ledger = await self._ledger.state([e.event_id for e in events], now)
            done = ledger.done
            asks = route_to_look_up(events, done)
            known = await self._routes.lookup(asks) if asks is not None and self._routes else None
            plan = decide_turn(
                events,
                done,
                known,
                block_streaming=self._settings.block_streaming,
                intents=ledger.intents,
            )
            for stored in plan.republish:
                await self._publisher.send_all(stored.publications)
                self.republished += 1
                log_event(  # SNS FIFO and egress's sent ledger drop the copies: the user sees nothing new
                    logger,
                    "dispatcher.turn.republished",
                    reply_id=stored.reply_id,
                    session=session_ref(events[0].session_key),
                    parts=len(stored.publications),
                )
            if plan.request is not None:
                if self._notices is not None:  # a turn given up tells its user (`failure_notice.py`)
                    self._notices.attempting(unit, plan.request, plan.target, presence=plan.show_presence)
                request = plan.request if self._media is None else await self._media.fetched(plan.request)
                await self._run_turn(plan, request, now, intent=plan.record_intent and not intent_free)
                if self._notices is not None:
                    self._notices.succeeded(unit)
            self._decoded.forget(unit)

    async def _run_turn(self, plan: TurnPlan, request: AgentRequest, now: datetime, *, intent: bool) -> None:
        started = time.monotonic()
        last = plan.events[-1]
        if plan.remember_route is not None and self._routes is not None:
            await self._routes.remember(last, plan.remember_route)
        if plan.undelivered_reason is not None:
            log_event(
                logger,
                "dispatcher.delivery.skipped",
                event_id=last.event_id,
                kind=last.kind.value,
                session=session_ref(last.session_key),
                reason=plan.undelivered_reason,
            )
        event_ids = [e.event_id for e in plan.events]
        if intent:  # before the invoke: a re-run after a crash keeps this turn together
            await self._ledger.intend(event_ids, request.reply_id, now)
        agent = WatchedAgent(self._agent)  # names the messages steered into the turn (`steered.py`)
        async with self._presence.shown(request, show=plan.show_presence):
            publications = await self._answer(plan, request, agent)
        recorded = await self._ledger.record(
            recorded_event_ids(event_ids, agent.steered),
            StoredTurn(request.reply_id, tuple(publications)),
            now,
        )
        await self._publisher.send_all(publications_to_send(plan, publications, recorded))
        self.turns += 1
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        if self._cron_history is not None:
            delivered = bool(publications) if plan.history_reports_delivery else None
            await self._cron_history.finished(
                last, delivered=delivered, duration_ms=duration_ms, now=self._clock()
            )
        log_event(
            logger,
            "dispatcher.turn.completed",
            event_id=last.event_id,
            events=len(plan.events),
            reply_id=request.reply_id,
            channel=last.channel,
            session=session_ref(last.session_key),
            parts=len(publications),
            kind=last.kind.value,
            delivered_to=plan.target.channel if publications and plan.target else None,
            duration_ms=duration_ms,
        )

    async def _answer(self, plan: TurnPlan, request: AgentRequest, agent: WatchedAgent) -> list[Publication]:
        """Run the agent; the turn's publications (streamed ones are sent already)."""
        if plan.target is not None and plan.show_presence and plan.target.channel in self._draft_channels:
            return await answer_with_draft(
                agent,
                self._publisher,
                request,
                plan.target,
                timing=self._draft_timing,
                stream_blocks=plan.stream,
            )
        if plan.stream and plan.target is not None:
            publications: list[Publication] = []
            async for item in agent.stream(request, traceparent=current_traceparent()):
                if isinstance(item, str) and item:
                    reply = block_reply(request, item, len(publications), plan.target)
                elif isinstance(item, AgentResponse) and item.media:  # the files, after the text
                    reply = block_reply(request, "", len(publications), plan.target, item.media)
                else:
                    continue
                publication = await self._publisher.publication(reply)
                await self._publisher.send(publication)
                publications.append(publication)
            return publications
        response = await agent.invoke(request, traceparent=current_traceparent())
        answer = build_reply(request, response, plan.target) if plan.target is not None else None
        return [await self._publisher.publication(answer)] if answer is not None else []
