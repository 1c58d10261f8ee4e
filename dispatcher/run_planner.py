"""The consumer's planner: a session's run of received messages split into turns (or deferred).

Decoding happens here once per message and is cached until its turn runs (`DecodedEvents`), so the
planner and the handler never decode the same body twice; a claim-checked body is resolved only when
its turn runs (the planner sees it as undecoded, which keeps it a turn of its own).

Before planning a run of several messages, the turn ledger's recorded intents of its events are read
(one `BatchGetItem`; a single message is one turn whatever was recorded):
a turn an earlier run started is planned again as it was (`core.plan_turns`' `recorded`). When they
cannot be read the run is given back for a moment rather than planned without them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from clawbus.bus.consumer import Plan
from clawbus.bus.envelopes import decode_inbound
from clawbus.bus.errors import InvalidEnvelope, RetryableError
from clawbus.bus.logging import log_event
from clawbus.bus.settings import QueueSettings
from clawbus.bus.sqs_record import SqsRecord
from clawbus.dispatcher.core import Pending, plan_turns
from clawbus.schemas import InboundEvent
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


Intents = Callable[[Sequence[str], datetime], Awaitable[dict[str, str]]]
INTENTS_UNREADABLE_DEFER_S = 2


class RunPlanner:
    """Splits a session's run by its queue mode (`core.plan_turns`) on the decoded events, keeping the
    turns whose intents the ledger recorded (`intents`: event ids to their turns' reply ids)."""

    def __init__(
        self,
        decoded: DecodedEvents,
        queue: QueueSettings,
        clock: Callable[[], datetime],
        intents: Intents,
    ) -> None:
        self._decoded = decoded
        self._queue = queue
        self._clock = clock
        self._intents = intents

    async def __call__(self, run: list[SqsRecord]) -> Plan:
        """The consumer's planner: units to run in order, and the messages deferred for `defer_s`."""
        self._decoded.trim()
        pending = [
            Pending(
                key=message.message_id,
                event=self._decoded.peek(message),
                sent_at_ms=int(message.sent_at.timestamp() * 1000),
                receive_count=message.receive_count,
            )
            for message in run
        ]
        event_ids = [p.event.event_id for p in pending if p.event is not None]
        try:
            # one message is one turn whatever was recorded (the handler reads its intent itself)
            recorded = await self._intents(event_ids, self._clock()) if len(event_ids) > 1 else {}
        except RetryableError as exc:
            log_event(logger, "dispatcher.intents.unreadable", logging.WARNING, reason=str(exc)[:300])
            self._decoded.forget(run)
            return Plan(units=[], deferred=list(run), defer_s=INTENTS_UNREADABLE_DEFER_S)
        queue = self._queue
        plan = plan_turns(
            pending,
            mode_for=queue.mode_for,
            debounce_ms=queue.debounce_ms,
            cap=queue.cap,
            now_ms=int(self._clock().timestamp() * 1000),
            recorded=recorded,
        )
        by_key = {m.message_id: m for m in run}
        deferred = [by_key[k] for k in plan.defer]
        self._decoded.forget(deferred)
        return Plan(
            units=[[by_key[k] for k in turn] for turn in plan.turns],
            deferred=deferred,
            defer_s=plan.defer_s,
        )
