"""The consumer's planner: a session's run of received messages split into turns (or deferred).

Decoding happens here once per message and is cached until its turn runs (`DecodedEvents`), so the
planner and the handler never decode the same body twice; a claim-checked body is resolved only when
its turn runs (the planner sees it as undecoded, which keeps it a turn of its own).

The planner knows when this dispatcher last ended a turn of the run's session (`SessionActivity`), so
messages that arrived while that turn ran are planned by the session's queue mode (its `/queue`
override read only then, `SessionQueues`, or for a run of several messages) and an idle session's
message runs at once; a run deferred for its debounce that nothing later could join waits it out here
(`core.waits_in_place`) rather than going back to the queue; each run's plan is logged
(`dispatcher.run.planned`, with the `debounce_ms` it
waits). A control lane's run (copies with `control`, `schemas/control.py`) is not planned: each copy is
a unit of its own, handled at once.

Before planning a run, the turn ledger's state of its events (finished turns, recorded intents) is
read together with the session's override: the two reads are asked at once, so the dispatcher's shared
reads (`storage/reads_dynamodb.py`) make them one `BatchGetItem`, shared with the concurrent runs' and
turns' ledger reads too — the override costs no request of its own (issue 21), and is still read fresh
for every run that needs it, so a `/queue` that any dispatcher stored before the run was received
applies to it. The plan's first turn uses this read instead of reading again (`read_at_plan`). In a
run of several messages the recorded intents are kept (a single message is one turn whatever was
recorded):
a turn an earlier run started is planned again as it was (`core.plan_turns`' `recorded`). When they
cannot be read the run is given back for a moment rather than planned without them.

A one-message turn that every later plan would make again the same way (`core.needs_no_intent`:
`followup`/`steer`, or an event that is never merged) runs without an intent (`intent_free`: one
conditional write less per turn, issue 21); a message received before (or replayed) that has no
intent and that this planner did not give back itself is kept alone for the same reason
(`core.pinned_alone`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from clawbus.bus.consumer import Plan
from clawbus.bus.envelopes import decode_inbound
from clawbus.bus.errors import ClawbusError, InvalidEnvelope, RetryableError
from clawbus.bus.logging import log_event, session_ref
from clawbus.bus.settings import QueueSettings
from clawbus.bus.sqs_record import SqsRecord
from clawbus.dispatcher.core import (
    Pending,
    RunPlan,
    needs_no_intent,
    pinned_alone,
    plan_turns,
    waits_in_place,
)
from clawbus.dispatcher.core.control_commands import QueueOverride, effective_queue
from clawbus.dispatcher.ledger import LedgerState
from clawbus.dispatcher.session_activity import SessionActivity
from clawbus.schemas import InboundEvent, attributes, reply_id
from clawbus.schemas.claim_check import read_claim_check
from clawbus.storage.claim_check import ClaimChecks

logger = logging.getLogger(__name__)
CACHE_LIMIT = 10_000  # entries of messages that failed and went elsewhere are dropped past this


class DecodedEvents:
    """Decoded inbound events by message id, from planning until their turn has run."""

    def __init__(self, claim_checks: ClaimChecks) -> None:
        self._claim_checks = claim_checks
        self._decoded: dict[str, InboundEvent | InvalidEnvelope] = {}

    def trim(self) -> None:
        """Forget everything once the cache holds more than `CACHE_LIMIT` (entries of lost messages)."""
        if len(self._decoded) > CACHE_LIMIT:
            self._decoded.clear()

    def peek(self, message: SqsRecord) -> InboundEvent | None:
        """The event of an inline body, decoded once (None: claim-checked or not an envelope)."""
        if message.message_id not in self._decoded and read_claim_check(message.body) is None:
            self._decoded[message.message_id] = _try_decode(message.body)
        event = self._decoded.get(message.message_id)
        return event if isinstance(event, InboundEvent) else None

    async def event(self, message: SqsRecord) -> InboundEvent:
        """The message's event, resolving a claim-checked body; `InvalidEnvelope` when it is not one."""
        cached = self._decoded.get(message.message_id)
        if isinstance(cached, InboundEvent):
            return cached
        if isinstance(cached, InvalidEnvelope):
            raise cached
        event = decode_inbound(await self._claim_checks.resolve(message.body))
        self._decoded[message.message_id] = event
        return event

    def forget(self, messages: Sequence[SqsRecord]) -> None:
        """Drop the entries of messages whose turn has run (or that were deferred)."""
        for message in messages:
            self._decoded.pop(message.message_id, None)


def _try_decode(body: str) -> InboundEvent | InvalidEnvelope:
    try:
        return decode_inbound(body)
    except InvalidEnvelope as exc:
        return exc


def _one_event_reply_id(event_id: str) -> str:
    return reply_id([event_id])


LedgerReads = Callable[[Sequence[str], datetime], Awaitable[LedgerState]]
Overrides = Callable[[InboundEvent], Awaitable[QueueOverride | None]]
INTENTS_UNREADABLE_DEFER_S = 2


class RunPlanner:
    """Splits a session's run by its queue mode (`core.plan_turns`) on the decoded events, keeping the
    turns whose intents the ledger recorded (`ledger`: `TurnLedger.state` of event ids); the first turn
    of each plan finds that read in `read_at_plan` (by its first message id) and reads no more."""

    def __init__(
        self,
        decoded: DecodedEvents,
        queue: QueueSettings,
        clock: Callable[[], datetime],
        ledger: LedgerReads,
        activity: SessionActivity | None = None,
        overrides: Overrides | None = None,
    ) -> None:
        self._decoded = decoded
        self._queue = queue
        self._clock = clock
        self._ledger = ledger
        self._activity = activity or SessionActivity()
        self._overrides = overrides
        self.dropped: set[str] = set()  # message ids planned to be consumed without a turn
        self.intent_free: set[str] = set()  # one-message units whose turn runs without an intent
        self.read_at_plan: dict[str, LedgerState] = {}  # each plan's first turn: its events' ledger state
        self._given_back: set[str] = set()  # message ids this planner deferred before any turn of theirs

    async def __call__(self, run: list[SqsRecord]) -> Plan:
        """The consumer's planner: units to run in order, and the messages deferred for `defer_s`."""
        self._decoded.trim()
        for held in (self.intent_free, self._given_back, self.read_at_plan):
            if len(held) > CACHE_LIMIT:  # entries of messages that failed and went elsewhere
                held.clear()  # forgetting a give-back only pins its message alone: the safe side
        pending = [
            Pending(
                key=message.message_id,
                event=self._decoded.peek(message),
                sent_at_ms=int(message.sent_at.timestamp() * 1000),
                receive_count=message.receive_count,
                replayed=attributes.REPLAY in message.attributes,
            )
            for message in run
        ]
        if any(p.event is not None and p.event.control is not None for p in pending):
            return Plan(units=[[m] for m in run])  # a control lane's copies: each acts alone, at once
        event_ids = [p.event.event_id for p in pending if p.event is not None]
        busy_until = self._activity.busy_until_ms(run[0].group_id)
        first = next((p.event for p in pending if p.event is not None), None)
        # asked together, so both go in one shared BatchGetItem (`storage/reads_dynamodb.py`)
        state, override = await asyncio.gather(
            self._ledger_state(event_ids), self._override(first, pending, busy_until)
        )
        for message in run:  # a plan's read is only ever used by its own first turn
            self.read_at_plan.pop(message.message_id, None)
        if state is None:
            self._decoded.forget(run)
            self._given_back.update(m.message_id for m in run)
            return Plan(units=[], deferred=list(run), defer_s=INTENTS_UNREADABLE_DEFER_S)
        recorded: dict[str, str] = {}  # one message is one turn whatever was recorded
        if len(event_ids) > 1:
            recorded = {
                **pinned_alone(pending, state.intents, self._given_back, _one_event_reply_id),
                **state.intents,
            }
        queue = effective_queue(self._queue, override, first.channel if first else "")

        def mode_for(channel: str) -> str:
            return override.mode if override and override.mode else self._queue.mode_for(channel)

        def plan_at(now_ms: int) -> RunPlan:
            return plan_turns(
                pending,
                mode_for=mode_for,
                debounce_ms=queue.debounce_ms,
                cap=queue.cap,
                now_ms=now_ms,
                recorded=recorded,
                busy_until_ms=busy_until,
                drop=queue.drop,
            )

        now_ms = int(self._clock().timestamp() * 1000)
        plan = plan_at(now_ms)
        waited_ms = 0
        if plan.defer and waits_in_place(pending, mode_for, plan.debounce_ms):
            waited_ms = plan.debounce_ms  # planned as at the end of the debounce, run after it
            plan = plan_at(now_ms + waited_ms)
        log_event(
            logger,
            "dispatcher.run.planned",
            session=session_ref(first.session_key) if first else None,
            messages=len(run),
            turns=len(plan.turns),
            queued=plan.queued,
            dropped=len(plan.dropped),
            mode=queue.mode,
            debounce_ms=plan.debounce_ms or waited_ms,
            waited_in_place=waited_ms > 0,
        )
        if waited_ms:
            await asyncio.sleep(waited_ms / 1000)
        by_key = {m.message_id: m for m in run}
        deferred = [by_key[k] for k in plan.defer]
        self._decoded.forget(deferred)
        self._given_back.difference_update(k for turn in plan.turns for k in turn)
        self._given_back.update(plan.defer)
        self.dropped.update(plan.dropped)
        by_pending = {p.key: p for p in pending}
        self._keep_read(state, plan.turns[0] if plan.turns else [], by_pending)
        self.intent_free.update(
            turn[0]
            for turn in plan.turns
            if len(turn) == 1 and needs_no_intent(by_pending[turn[0]], mode_for)
        )
        return Plan(
            units=[[by_key[k]] for k in plan.dropped] + [[by_key[k] for k in turn] for turn in plan.turns],
            deferred=deferred,
            defer_s=plan.defer_s,
        )

    async def _ledger_state(self, event_ids: list[str]) -> LedgerState | None:
        """The ledger's state of a run's events (None: unreadable, the run is given back)."""
        if not event_ids:
            return LedgerState({}, {})
        try:
            return await self._ledger(list(dict.fromkeys(event_ids)), self._clock())
        except RetryableError as exc:
            log_event(logger, "dispatcher.intents.unreadable", logging.WARNING, reason=str(exc)[:300])
            return None

    def _keep_read(self, state: LedgerState, turn: list[str], by_pending: dict[str, Pending]) -> None:
        """Hand the plan's ledger read to its first turn, which starts now (the consumer runs a plan's
        units in order at once: only dropped units, which write nothing, go before it). A later turn of
        the run reads when it starts: the turns before it have written since."""
        events = [by_pending[k].event for k in turn]
        if not turn or any(e is None for e in events):
            return  # a claim-checked body's event is known only when its turn runs: it reads then
        ids = {e.event_id for e in events if e is not None}
        self.read_at_plan[turn[0]] = LedgerState(
            {k: v for k, v in state.done.items() if k in ids},
            {k: v for k, v in state.intents.items() if k in ids},
        )

    async def _override(
        self, first: InboundEvent | None, pending: list[Pending], busy_until: int | None
    ) -> QueueOverride | None:
        """The session's `/queue` override, read only when the queue mode can change the plan."""
        queued = busy_until is not None and any(p.sent_at_ms <= busy_until for p in pending)
        if first is None or self._overrides is None or (len(pending) < 2 and not queued):
            return None
        try:
            return await self._overrides(first)
        except ClawbusError as exc:
            log_event(logger, "dispatcher.queue_override.unreadable", logging.WARNING, reason=str(exc)[:300])
            return None
