"""Telling the user when the dispatcher gives their turn up (the rule: `core/failure_notice.py`).

The turn handler notes each turn it runs (`attempting`: its events, reply id and where its answer goes) and
forgets it once the turn is done (`succeeded`). The consumer calls `dead_lettered` when it gives a unit up
(its `on_dead_letter` hook, `bus/dead_letters.py`), before it moves the messages to the DLQ. A crash in
between redelivers the unit, and the notice's id keeps it to one. The notice is published on the session's
FIFO group like an answer, after every progress update of the failed run (the draft task is closed before
the error leaves the turn), so egress edits the draft into it. A unit that failed before its turn was
planned (the ledger unreachable on every receive, say) has no noted turn: its messages are read again, and
each conversation they came from is told, under the reply id a turn of exactly its messages would have had;
an envelope that cannot be read names nobody, and is logged.

Where the user is not told (a group message that did not address the bot, a scheduled turn, the
channel's policy), a turn that showed a draft gets the draft deleted instead. The channel's
`error_policy` is honoured: `silent` sends none; `once` records `cooldown_key` in the
ledger table for `ONCE_COOLDOWN_S` (first record stands; a redelivery of the same failure finds its own
notice there and publishes it again, which the topic and egress drop as sent).

Best effort, never the unit's fate: a notice that cannot be published is logged at ERROR and the
messages are dead-lettered all the same (their reason is in the DLQ).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from clawbus.bus.clock import Clock, utc_now
from clawbus.bus.consumer import Unit
from clawbus.bus.envelopes import decode_inbound
from clawbus.bus.errors import ClawbusError
from clawbus.bus.logging import log_event, session_ref
from clawbus.bus.settings.channels import ErrorPolicy
from clawbus.dispatcher.core import Route
from clawbus.dispatcher.core.failure_notice import (
    FAILED_SUFFIX,
    ONCE_COOLDOWN_S,
    cooldown_key,
    draft_clearing,
    failure_notice,
    unplanned_notices,
)
from clawbus.dispatcher.publisher import Publisher
from clawbus.schemas import AgentRequest, OutboundReply, ReplyKind
from clawbus.storage.idempotency import AlreadyDone, IdempotencyStore

logger = logging.getLogger(__name__)
_NOTED_MAX = 1024  # turns noted and neither done nor given up (given back, or taken by another dispatcher)


@dataclass(frozen=True)
class _Attempt:
    request: AgentRequest
    target: Route | None
    draft: bool


class FailureNotices:
    """Notes the turns being run and tells the user of one given up (module docstring)."""

    def __init__(
        self,
        publisher: Publisher,
        policies: Mapping[str, ErrorPolicy],
        cooldowns: IdempotencyStore,
        draft_channels: frozenset[str] = frozenset(),
        clock: Clock = utc_now,
    ) -> None:
        self._publisher = publisher
        self._policies = policies
        self._cooldowns = cooldowns
        self._draft_channels = draft_channels
        self._clock = clock
        self._noted: OrderedDict[str, _Attempt] = OrderedDict()
        self.sent = 0

    def attempting(self, unit: Unit, request: AgentRequest, target: Route | None, *, presence: bool) -> None:
        """The unit's turn runs now (`presence`: a person waits, so a draft may be shown)."""
        draft = presence and target is not None and target.channel in self._draft_channels
        self._noted[unit[0].message_id] = _Attempt(request, target, draft)
        self._noted.move_to_end(unit[0].message_id)
        while len(self._noted) > _NOTED_MAX:
            self._noted.popitem(last=False)

    def succeeded(self, unit: Unit) -> None:
        """The unit's turn is done: nothing to tell."""
        self._noted.pop(unit[0].message_id, None)

    async def dead_lettered(self, unit: Unit, error: ClawbusError) -> None:
        """The unit is being dead-lettered with `error`: tell its user, as the channel's policy says (or
        at least take its draft away)."""
        attempt = self._noted.pop(unit[0].message_id, None)
        if attempt is None:
            await self._unplanned(unit, error)
            return
        request, target = attempt.request, attempt.target
        notice = failure_notice(request.events, request.reply_id, target, error, draft=attempt.draft)
        clearing = (
            draft_clearing(request.events, request.reply_id, target) if attempt.draft and target else None
        )
        await self._tell(notice, clearing, request.reply_id, error)

    async def _unplanned(self, unit: Unit, error: ClawbusError) -> None:
        """A unit given up before its turn was planned: each conversation its messages came from is told
        (`unplanned_notices`); an envelope that cannot be read here (not one, or a body held in S3 by
        claim check) names nobody to tell."""
        events = []
        for message in unit:
            try:
                events.append(decode_inbound(message.body))
            except ClawbusError:
                log_event(
                    logger,
                    "dispatcher.failure_notice.skipped",
                    message_id=message.message_id,
                    reason="unreadable",
                )
        for notice in unplanned_notices(events, error):
            await self._tell(notice, None, notice.reply_id.removesuffix(FAILED_SUFFIX), error)

    async def _tell(
        self, notice: OutboundReply | None, clearing: OutboundReply | None, reply_id: str, error: ClawbusError
    ) -> None:
        """Publish `notice` unless the conversation is not told (then `clearing`, when there is a draft)."""
        try:
            skipped = await self._skip_reason(notice, error)
            if skipped is not None:
                log_event(logger, "dispatcher.failure_notice.skipped", reply_id=reply_id, reason=skipped)
                notice = clearing
            if notice is not None:
                await self._publisher.send(await self._publisher.publication(notice))
        except ClawbusError as exc:
            log_event(
                logger,
                "dispatcher.failure_notice.failed",
                logging.ERROR,
                reply_id=reply_id,
                error_type=type(exc).__name__,
                reason=str(exc)[:300],
            )
            return
        if notice is not None and notice.kind is ReplyKind.MESSAGE:
            self.sent += 1
            log_event(
                logger,
                "dispatcher.failure_notice.sent",
                reply_id=notice.reply_id,
                channel=notice.channel,
                session=session_ref(notice.session_key),
                error_type=type(error).__name__,
                draft=notice.draft is not None,
            )

    async def _skip_reason(self, notice: OutboundReply | None, error: ClawbusError) -> str | None:
        """Why the user is not told (None: they are): not addressed, or the channel's policy."""
        if notice is None:
            return "not_addressed"
        policy = self._policies.get(notice.channel, "always")
        if policy == "silent" or (policy == "once" and not await self._first_in_window(notice, error)):
            return policy
        return None

    async def _first_in_window(self, notice: OutboundReply, error: ClawbusError) -> bool:
        """Whether `notice` is the conversation's first of its reason in the cooldown (or is that one)."""
        now: datetime = self._clock()
        try:
            await self._cooldowns.record(
                [cooldown_key(notice, error)], now, ttl_s=ONCE_COOLDOWN_S, data={"reply_id": notice.reply_id}
            )
        except AlreadyDone as done:
            return done.record is not None and done.record.data.get("reply_id") == notice.reply_id
        return True
