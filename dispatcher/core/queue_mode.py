"""Which of a session's waiting messages make one turn: OpenClaw's `collect` and `followup`. Pure.

SQS hands the dispatcher a *run*: the messages of one session (one FIFO group) that were waiting, in
order. In `followup` mode each message is its own turn. In `collect` mode consecutive user messages are
merged into one turn (up to `cap`), so a user who sends three quick lines gets one answer; and when the
newest of them is younger than `debounce_ms`, the whole run is deferred (given back to the queue for the
rest of the debounce) once, so lines still being typed join the same turn. Heartbeats, cron runs,
system events and messages with attachments are never merged and never wait.

A turn is answered on one route (its last message's), so only messages that came by the same route
(channel, account, chat and thread) are merged: with `dmScope=main` a Telegram DM and a WhatsApp DM
share the session, and each must still be answered in its own chat. OpenClaw likewise drains queued
messages that target different channels or threads one by one.

A turn the dispatcher started before (its *intent* is recorded: `dispatcher/intents.py`) keeps its
composition when its messages come back (a crash after the agent was invoked and before the turn
ledger's write): `recorded` maps each such event to its turn's reply id, and the messages of one
recorded turn make that turn again — never split by the cap or a route, never joined by a message
that came after, never deferred — so the agent sees the same reply id and recognises the re-run
instead of answering the same text twice under a new id (issue 22). Messages not in a recorded turn
are planned around it as before.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from clawbus.dispatcher.core.turns import reply_target
from clawbus.schemas import EventKind, InboundEvent

ModeFor = Callable[[str], str]


@dataclass(frozen=True)
class Pending:
    """One received message as the planner sees it (`event` None: it did not decode)."""

    key: str
    event: InboundEvent | None
    sent_at_ms: int
    receive_count: int


@dataclass(frozen=True)
class RunPlan:
    """Turns to run in order (lists of message keys); then `defer` keys given back for `defer_s`."""

    turns: list[list[str]]
    defer: list[str] = field(default_factory=list)
    defer_s: int = 0


def _mergeable(item: Pending, mode_for: ModeFor) -> bool:
    event = item.event
    return (
        event is not None
        and event.kind is EventKind.MESSAGE
        and not event.attachments
        and mode_for(event.channel) == "collect"
    )


def route_key(event: InboundEvent) -> tuple[str, str, str, str | None]:
    """The route a message is answered on, as far as merging goes: channel, account, chat, thread."""
    target = reply_target(event)
    return event.channel, event.account_id, target.chat_id, target.thread_id


def _joins(item: Pending, current: list[Pending], mode_for: ModeFor, cap: int) -> bool:
    """Whether `item` joins the turn being collected: mergeable, room left, and the same route."""
    first = current[0].event if current else None
    if first is None or item.event is None or not _mergeable(item, mode_for) or len(current) >= cap:
        return False
    return route_key(item.event) == route_key(first)


def recorded_turn(item: Pending, recorded: Mapping[str, str]) -> str | None:
    """The reply id of the recorded turn `item`'s event belongs to, if any."""
    return recorded.get(item.event.event_id) if item.event is not None else None


def plan_turns(
    run: Sequence[Pending],
    *,
    mode_for: ModeFor,
    debounce_ms: int,
    cap: int,
    now_ms: int,
    recorded: Mapping[str, str] | None = None,
) -> RunPlan:
    """Split a session's run into turns, or defer it to let more messages join (see module doc).

    Guarantees: every message is in exactly one turn, in arrival order; the messages of a recorded
    turn (`recorded`: event id to reply id) that arrive together make one turn with nothing else in
    it; any other turn of several messages holds only mergeable messages of one route, at most `cap`.
    """
    recorded = recorded or {}
    turns: list[list[str]] = []
    current: list[Pending] = []
    current_recorded: str | None = None
    for item in run:
        turn_id = recorded_turn(item, recorded)
        if (
            current
            and turn_id == current_recorded
            and (turn_id is not None or _joins(item, current, mode_for, cap))
        ):
            current.append(item)
            continue
        if current:
            turns.append([p.key for p in current])
            current = []
        current_recorded = turn_id
        if turn_id is not None or _mergeable(item, mode_for):
            current.append(item)
        else:
            turns.append([item.key])
    if current:
        turns.append([p.key for p in current])
    first = [p for p in run if p.key in set(turns[0])] if turns else []
    fresh = all(
        _mergeable(p, mode_for) and p.receive_count == 1 and recorded_turn(p, recorded) is None for p in first
    )
    if debounce_ms > 0 and first and fresh:
        newest_age = now_ms - max(p.sent_at_ms for p in first)
        if newest_age < debounce_ms:
            wait_s = max(1, math.ceil((debounce_ms - newest_age) / 1000))
            return RunPlan(turns=[], defer=[p.key for p in run], defer_s=wait_s)
    return RunPlan(turns=turns)
