"""What a unit of events becomes, decided before anything runs. Pure: no AWS, no clock of its own.

Given the unit's events (one session, arrival order), the turns the ledger already holds for some of
them, and the agent's last route when one was read, `decide_turn` says everything the handler then
does in order: which stored turns to publish again (events answered by an earlier run: the reply stands,
the agent does not run twice), whether a turn runs at all and on which events, the route a trusted DM
moves, where the answer goes (or why it goes nowhere), whether `typing` is shown and the answer
streamed, and whether the cron history reports a delivery.

A turn whose events all carry one recorded intent (an earlier run started it and died before the
ledger's write) runs under that intent's reply id, so the agent recognises the re-run; otherwise its
intent is to be recorded before the agent is invoked (`record_intent`).

`route_to_look_up` says beforehand which event's last route the handler must read, so the decision
itself needs no I/O; `publications_to_send` says, after the ledger answered, what still goes out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clawbus.dispatcher.core.last_route import turn_moves_last_route
from clawbus.dispatcher.core.turns import Route, build_request, destination, is_scheduled, needs_last_route
from clawbus.schemas import AgentRequest, InboundEvent

if TYPE_CHECKING:
    from clawbus.dispatcher.ledger import Publication, StoredTurn

ALREADY_ANSWERED = "already_answered"  # every event of the unit has a turn in the ledger
NO_LAST_ROUTE = "no_last_route"  # a scheduled turn without a target, and no trusted DM ever set a route


@dataclass(frozen=True)
class TurnPlan:
    """What the handler does with one unit, in order (see module)."""

    republish: tuple[StoredTurn, ...]
    """Turns an earlier run recorded for some of the events, once each: published again, not re-run."""
    events: tuple[InboundEvent, ...]
    """The events the turn answers (those not in `republish`); empty when `request` is None."""
    request: AgentRequest | None
    """The agent's request; None when there is nothing left to answer (`skip_reason` says why)."""
    skip_reason: str | None
    remember_route: Route | None
    """The route a trusted DM among the events makes the agent's last route (stored before the run)."""
    target: Route | None
    """Where the answer goes; None: it is not delivered (`undelivered_reason` says why, when it is news)."""
    undelivered_reason: str | None
    show_presence: bool
    """Whether `typing` is shown while a slow turn runs (not for scheduled turns: nobody is waiting)."""
    stream: bool
    """Whether the answer is published block by block as it arrives (`block_streaming`, and a target)."""
    history_reports_delivery: bool
    """Whether the cron history records delivered/not delivered (False: no delivery was asked for)."""
    record_intent: bool = False
    """Whether the turn's intent must be recorded before the agent runs (no earlier run recorded it)."""


def pending_events(events: Sequence[InboundEvent], stored: Mapping[str, StoredTurn]) -> list[InboundEvent]:
    """The events no stored turn answers yet, in arrival order."""
    return [e for e in events if e.event_id not in stored]


def route_to_look_up(events: Sequence[InboundEvent], stored: Mapping[str, StoredTurn]) -> InboundEvent | None:
    """The event whose last route the turn needs read from the session index, or None.

    A scheduled turn without a target needs it; not when the same turn moves the route (a trusted DM
    before the heartbeat in one unit): then the route it moves is the one it reads.
    """
    pending = pending_events(events, stored)
    if not pending or turn_moves_last_route(pending) is not None or not needs_last_route(pending[-1]):
        return None
    return pending[-1]


def recorded_reply_id(events: Sequence[InboundEvent], intents: Mapping[str, str]) -> str | None:
    """The reply id every one of `events` was recorded under by an earlier run's intent, or None."""
    ids = {intents.get(e.event_id) for e in events}
    return next(iter(ids)) if len(ids) == 1 else None


def decide_turn(
    events: Sequence[InboundEvent],
    stored: Mapping[str, StoredTurn],
    known_route: Route | None,
    *,
    block_streaming: bool,
    intents: Mapping[str, str] | None = None,
) -> TurnPlan:
    """The plan for a unit (see module); `known_route` is the last route read for `route_to_look_up`,
    `intents` the reply id of each event's recorded intent."""
    republish = tuple({turn.reply_id: turn for turn in stored.values()}.values())
    pending = tuple(pending_events(events, stored))
    if not pending:
        return TurnPlan(
            republish=republish,
            events=(),
            request=None,
            skip_reason=ALREADY_ANSWERED,
            remember_route=None,
            target=None,
            undelivered_reason=None,
            show_presence=False,
            stream=False,
            history_reports_delivery=False,
        )
    last = pending[-1]
    moved = turn_moves_last_route(pending)  # only a trusted DM moves it, before the turn runs
    wants_route = needs_last_route(last)
    target = destination(last, (moved or known_route) if wants_route else None)
    recorded = recorded_reply_id(pending, intents or {})
    return TurnPlan(
        republish=republish,
        events=pending,
        request=build_request(pending, recorded),
        skip_reason=None,
        remember_route=moved,
        target=target,
        undelivered_reason=NO_LAST_ROUTE if target is None and wants_route else None,
        show_presence=not is_scheduled(last),
        stream=target is not None and block_streaming,
        history_reports_delivery=last.delivery is None or last.delivery.mode != "none",
        record_intent=recorded is None,
    )


def publications_to_send(
    plan: TurnPlan, produced: Sequence[Publication], recorded: StoredTurn
) -> tuple[Publication, ...]:
    """What to publish once the ledger answered `record` with `recorded`.

    Unstreamed, the recorded turn's publications (ours, or an earlier run's that stands). Streamed, ours
    went out block by block already: only an earlier run's record that differs goes out (its blocks,
    dropped downstream by dedup id where already sent).
    """
    ours = plan.request.reply_id if plan.request is not None else None
    if not plan.stream or recorded.reply_id != ours or recorded.publications != tuple(produced):
        return recorded.publications
    return ()
