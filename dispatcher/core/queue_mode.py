"""Which of a session's waiting messages make one turn: OpenClaw's queue modes over SQS. Pure.

SQS hands the dispatcher a *run*: the messages of one session (one FIFO group) that were waiting, in
order. A message that reached an idle session starts its turn at once: no debounce. One that arrived
while a turn of the session ran (*queued*: sent before that turn ended, `busy_until_ms`; the FIFO group
held it back meanwhile) is handled by the session's mode (`docs/queue.md`):

- `followup`: one turn per message; `steer`, once its running turn has ended (or when it could not be
  steered into it), is an ordinary turn too, so it plans as `followup`;
- `collect`: consecutive user messages merge into one turn (up to `cap`);
- `interrupt`: only the newest queued message of a route is answered; the older queued ones are dropped
  (consumed without a turn), as each new message aborts the run before it upstream.

While the newest queued message of the first turn is younger than `debounce_ms`, the whole run is
deferred (given back to the queue for the rest of the debounce) once, so lines still being typed join
the same turn; a run that nothing later could join waits the rest in place (`waits_in_place`). Above
`cap` queued messages, `drop` says what goes: `old` the oldest, `new` the newest,
`summarize` none (the oldest overflow is answered together in one turn). Heartbeats, cron runs, system
events and messages with attachments are never merged, dropped or deferred.

A turn is answered on one route (its last message's), so only messages that came by the same route
(channel, account, chat and thread) are merged: with `dmScope=main` a Telegram DM and a WhatsApp DM
share the session, and each must still be answered in its own chat. OpenClaw likewise drains queued
messages that target different channels or threads one by one.

A turn the dispatcher started before (its *intent* is recorded: `dispatcher/intents.py`) keeps its
composition when its messages come back (a crash after the agent was invoked and before the turn
ledger's write): `recorded` maps each such event to its turn's reply id, and the messages of one
recorded turn make that turn again — never split by the cap or a route, never joined by a message
that came after, never deferred or dropped — so the agent sees the same reply id and recognises the
re-run instead of answering the same text twice under a new id (issue 22). Messages not in a recorded
turn are planned around it as before.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass, field

from clawbus.dispatcher.core.turns import reply_target
from clawbus.schemas import EventKind, InboundEvent

ModeFor = Callable[[str], str]
MergeClass = Callable[["Pending"], str | None]  # messages of one class merge; None: never


@dataclass(frozen=True)
class Pending:
    """One received message as the planner sees it (`event` None: it did not decode).

    `replayed`: put back from the dead-letter queue by `clawbus dlq replay` (a new message, receive count
    1, that a turn may have started for before)."""

    key: str
    event: InboundEvent | None
    sent_at_ms: int
    receive_count: int
    replayed: bool = False


@dataclass(frozen=True)
class RunPlan:
    """Turns to run in order (lists of message keys); then `defer` keys given back for `defer_s`.

    `dropped` messages are consumed without a turn; `debounce_ms` is how long the run waits for quiet
    (0: it runs at once); `queued` counts the messages that arrived while a turn of the session ran.
    """

    turns: list[list[str]]
    defer: list[str] = field(default_factory=list)
    defer_s: int = 0
    dropped: list[str] = field(default_factory=list)
    debounce_ms: int = 0
    queued: int = 0


def _plain_message(item: Pending) -> bool:
    event = item.event
    return (
        event is not None
        and event.kind is EventKind.MESSAGE
        and not event.attachments
        and event.control is None  # a control command is answered alone
    )


def _mergeable(item: Pending, mode_for: ModeFor) -> bool:
    return _plain_message(item) and item.event is not None and mode_for(item.event.channel) == "collect"


def route_key(event: InboundEvent) -> tuple[str, str, str, str | None]:
    """The route a message is answered on, as far as merging goes: channel, account, chat, thread."""
    target = reply_target(event)
    return event.channel, event.account_id, target.chat_id, target.thread_id


def _joins(item: Pending, current: list[Pending], merge_class: MergeClass, cap: Callable[[str], int]) -> bool:
    """Whether `item` joins the turn being collected: of its merge class, room left, the same route."""
    first = current[0].event if current else None
    klass = merge_class(item)
    if first is None or item.event is None or klass is None or klass != merge_class(current[0]):
        return False
    return len(current) < cap(klass) and route_key(item.event) == route_key(first)


def recorded_turn(item: Pending, recorded: Mapping[str, str]) -> str | None:
    """The reply id of the recorded turn `item`'s event belongs to, if any."""
    return recorded.get(item.event.event_id) if item.event is not None else None


def needs_no_intent(item: Pending, mode_for: ModeFor) -> bool:
    """Whether a one-message turn of `item` needs no intent: every later plan of it, by any planner,
    is the same one-message turn under the same reply id (issue 21's cost work).

    A message that is not plain (a heartbeat, a cron run, a system event, one with attachments) is never
    merged, dropped or deferred in any mode. A plain one under `followup` or `steer` is merged or dropped
    only by a plan it did not start in — a `/queue` change, a backlog over the cap, a queued `interrupt`
    — and a copy that comes back after its turn started was received before (or replayed), which
    `pinned_alone` pins to a turn of its own. A plain message under `collect` or `interrupt` keeps its
    intent: a dead letter moved back by SQS alone (receive count 1, no `clawbus.replay`) is pinned only
    by it."""
    if item.event is None:
        return False
    return not _plain_message(item) or mode_for(item.event.channel) in ("followup", "steer")


WAIT_IN_PLACE_MAX_MS = 2_000  # a longer debounce gives its run back rather than hold its room


def waits_in_place(run: Sequence[Pending], mode_for: ModeFor, debounce_ms: int) -> bool:
    """Whether a run deferred for `debounce_ms` more may wait it out in the dispatcher instead of going
    back to the queue (issue 21: a `ChangeMessageVisibility` per message and a receive more).

    Going back lets the session's later messages join the run when it is received again; only
    `collect` merges them (and a queued `interrupt` drops for them, but `interrupt` has no debounce).
    So a run waits in place when none of its messages is under `collect`: planned at the end of the
    debounce, it makes the same turns whatever arrived meanwhile. A long debounce (over
    `WAIT_IN_PLACE_MAX_MS`) still goes back: held, it would keep the room of other sessions' turns."""
    if not 0 < debounce_ms <= WAIT_IN_PLACE_MAX_MS:
        return False
    return all(p.event is not None and not _mergeable(p, mode_for) for p in run)


def pinned_alone(
    run: Sequence[Pending], recorded: Mapping[str, str], given_back: Container[str], pin: Callable[[str], str]
) -> dict[str, str]:
    """Turns to keep as recorded although no intent says so: each event received before (or replayed)
    whose message this planner did not itself give back unstarted (`given_back`: deferred for a
    debounce or an unreadable ledger), pinned to a one-event turn `pin(event_id)`.

    Its turn may have started without an intent (`needs_no_intent`) and died before its
    ledger record; planned alone again it keeps its reply id, so the agent recognises the re-run. A
    message that merely came back unstarted (a run given back on shutdown, or behind a failed unit) is
    answered alone instead of merged: the price of not writing an intent per turn."""
    pins: dict[str, str] = {}
    for item in run:
        event = item.event
        if event is None or event.event_id in recorded or item.key in given_back:
            continue
        if item.receive_count > 1 or item.replayed:
            pins[event.event_id] = pin(event.event_id)
    return pins


def _droppable(item: Pending, recorded: Mapping[str, str]) -> bool:
    return _plain_message(item) and recorded_turn(item, recorded) is None


def _interrupted(queued: Sequence[Pending], mode_for: ModeFor) -> set[str]:
    """Queued `interrupt` messages followed later by another one on the same route."""
    newer: set[tuple[str, str, str, str | None]] = set()
    dropped: set[str] = set()
    for item in reversed(queued):
        if item.event is None or mode_for(item.event.channel) != "interrupt":
            continue
        route = route_key(item.event)
        if route in newer:
            dropped.add(item.key)
        newer.add(route)
    return dropped


def _overflow(queued: list[Pending], cap: int, drop: str) -> tuple[set[str], set[str]]:
    """Over `cap` queued messages: (dropped keys, keys answered together in one turn)."""
    excess = len(queued) - cap
    if excess <= 0:
        return set(), set()
    if drop == "new":
        return {p.key for p in queued[-excess:]}, set()
    oldest = {p.key for p in queued[:excess]}
    return (oldest, set()) if drop == "old" else (set(), oldest)


def _split(
    run: Sequence[Pending], merge_class: MergeClass, cap: Callable[[str], int], recorded: Mapping[str, str]
) -> list[list[str]]:
    turns: list[list[str]] = []
    current: list[Pending] = []
    current_recorded: str | None = None
    for item in run:
        turn_id = recorded_turn(item, recorded)
        if (
            current
            and turn_id == current_recorded
            and (turn_id is not None or _joins(item, current, merge_class, cap))
        ):
            current.append(item)
            continue
        if current:
            turns.append([p.key for p in current])
            current = []
        current_recorded = turn_id
        if turn_id is not None or merge_class(item) is not None:
            current.append(item)
        else:
            turns.append([item.key])
    if current:
        turns.append([p.key for p in current])
    return turns


def plan_turns(
    run: Sequence[Pending],
    *,
    mode_for: ModeFor,
    debounce_ms: int,
    cap: int,
    now_ms: int,
    recorded: Mapping[str, str] | None = None,
    busy_until_ms: int | None = None,
    drop: str = "summarize",
) -> RunPlan:
    """Split a session's run into turns, drop or defer some of it (see module doc).

    `busy_until_ms`: when the session's last turn ended (None: no turn ran lately), so messages sent
    before it were queued behind it. Guarantees: every message is in exactly one turn or in `dropped`
    (or all are deferred), in arrival order; the messages of a recorded turn (`recorded`: event id to
    reply id) that arrive together make one turn with nothing else in it, and are never dropped; any
    other turn of several messages holds only plain messages of one route, at most `cap` unless it
    answers the overflow together (`drop="summarize"`).
    """
    recorded = recorded or {}
    queued = [
        p
        for p in run
        if busy_until_ms is not None and p.sent_at_ms <= busy_until_ms and _droppable(p, recorded)
    ]
    dropped = _interrupted(queued, mode_for)
    over_dropped, together = _overflow([p for p in queued if p.key not in dropped], cap, drop)
    dropped |= over_dropped
    kept = [p for p in run if p.key not in dropped]

    def merge_class(item: Pending) -> str | None:
        if item.key in together:
            return "overflow"
        return "collect" if _mergeable(item, mode_for) else None

    turns = _split(kept, merge_class, lambda klass: len(together) if klass == "overflow" else cap, recorded)
    queued_keys = {p.key for p in queued}
    first = [p for p in kept if turns and p.key in set(turns[0])]
    fresh = all(
        _plain_message(p) and p.receive_count == 1 and recorded_turn(p, recorded) is None for p in first
    )
    waited_for = [p for p in first if p.key in queued_keys]
    first_mode = mode_for(first[0].event.channel) if first and first[0].event is not None else "followup"
    if debounce_ms > 0 and fresh and waited_for and first_mode != "interrupt":
        newest_age = now_ms - max(p.sent_at_ms for p in first)
        if newest_age < debounce_ms:
            wait_s = max(1, math.ceil((debounce_ms - newest_age) / 1000))
            return RunPlan(
                turns=[],
                defer=[p.key for p in run],
                defer_s=wait_s,
                debounce_ms=debounce_ms - newest_age,
                queued=len(queued),
            )
    return RunPlan(turns=turns, dropped=[p.key for p in run if p.key in dropped], queued=len(queued))
