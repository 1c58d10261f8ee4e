"""Which session a turn belongs to, and what the turn leaves in the session index.

At turn start (`begin`), the session key's index entry names the current `sessionId`. A message turn
applies the reset rules (storage/reset.py): a stale session, or a `/new`/`/reset` trigger, mints a
new `sessionId`; the old transcript stays in the store under its own id (OpenClaw's `*.reset.<ts>`
archive). The entry records which turn reset it, so a re-run of that turn does not reset again.
Heartbeats and cron turns never reset and do not count as interaction.

At turn end (`finish`), the entry gets the turn's activity: `updatedAt`, `lastInteractionAt` (messages),
token counts, `compactionCount`. Both are `SessionIndex.update` changes: pure functions re-applied on a
lost race, so concurrent turns lose nothing.

The last route (`deliveryContext`, `lastChannel`, ...) is not the agent's to write: the dispatcher sets
it, before the turn, for trusted DMs only (dispatcher/core/last_route.py). The agent keeps it: a reset
carries it into the new session, and the route-only placeholder the dispatcher leaves on an entry that
did not exist yet starts a session like an absent entry, keeping the route.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from clawbus.schemas import AgentRequest, EventKind
from clawbus.storage import SessionEntry
from clawbus.storage.reset import (
    GREETING_PROMPT,
    ResetRules,
    chat_type_of,
    is_stale,
    parse_trigger,
    policy_for,
)
from clawbus.storage.sessions import LAST_ROUTE_FIELDS, QUEUE_FIELDS


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


@dataclass(frozen=True)
class TurnInput:
    """What a turn says (trigger stripped; the greeting prompt for a trigger alone), and why a new
    session may start: `trigger` for `/new`/`/reset`."""

    text: str
    trigger: bool
    message: bool


def turn_input(request: AgentRequest, text: str, triggers: tuple[str, ...]) -> TurnInput:
    """The user's text after any reset trigger (checked on the first message event of the turn)."""
    message = any(event.kind is EventKind.MESSAGE for event in request.events)
    found = parse_trigger(text, triggers) if message else None
    if found is None:
        return TurnInput(text, trigger=False, message=message)
    return TurnInput(GREETING_PROMPT if found.alone else found.rest, trigger=True, message=True)


@dataclass(frozen=True)
class Begin:
    """The change `begin` applies; after `SessionIndex.update`, `reason` says whether it reset."""

    request: AgentRequest
    turn: TurnInput
    rules: ResetRules
    now: datetime
    timezone: str
    new_id: str = ""

    def __post_init__(self) -> None:
        if not self.new_id:
            object.__setattr__(self, "new_id", str(uuid.uuid4()))

    def reason(self, current: SessionEntry | None) -> str | None:
        """Why a new session starts (`new`, `trigger`, `stale`), or None to keep the current one."""
        if current is None or not current.started:  # absent, or the dispatcher's route-only placeholder
            return "new"
        if current.reset_by_turn == self.request.reply_id or not self.turn.message:
            return None
        if self.turn.trigger:
            return "trigger"
        channel = self.request.events[-1].channel
        policy = policy_for(self.rules, chat_type=chat_type_of(self.request.session_key), channel=channel)
        started = current.session_started_at or current.updated_at
        last = current.last_interaction_at or current.updated_at
        stale = is_stale(
            policy,
            started_at=_at(started),
            last_interaction_at=_at(last),
            now=self.now,
            timezone=self.timezone,
        )
        return "stale" if stale else None

    def __call__(self, current: SessionEntry | None) -> SessionEntry:
        reason = self.reason(current)
        if reason is None:
            assert current is not None
            return current
        now = _ms(self.now)
        carried = (
            {}
            if current is None
            else current.model_dump(
                include={"chat_type", "channel", "parent_session_key", *LAST_ROUTE_FIELDS, *QUEUE_FIELDS}
            )
        )
        parent = self.request.events[-1].parent_session_key
        if parent:  # a thread's session keeps the conversation it belongs to
            carried["parent_session_key"] = parent
        return SessionEntry.model_validate(
            {
                **carried,
                "session_id": self.new_id,
                "updated_at": now,
                "session_started_at": now,
                "last_interaction_at": now,
                "chat_type": chat_type_of(self.request.session_key),
                "channel": self.request.events[-1].channel,
                "reset_by_turn": self.request.reply_id,
            }
        )


@dataclass(frozen=True)
class Activity:
    """What a finished turn adds to the index."""

    input_tokens: int
    output_tokens: int
    context_tokens: int
    compacted: bool


def finish(
    request: AgentRequest, session_id: str, activity: Activity, now: datetime
) -> Callable[[SessionEntry | None], SessionEntry]:
    """The change recording a finished turn (on the session it ran in; a newer session is left alone).

    It leaves the last route as it is: only the dispatcher moves it."""
    message = any(event.kind is EventKind.MESSAGE for event in request.events)

    def change(current: SessionEntry | None) -> SessionEntry:
        base = current if current is not None else SessionEntry(session_id=session_id)
        if base.session_id != session_id:
            return base
        stamp = _ms(now)
        update: dict[str, object] = {
            "updated_at": stamp,
            "input_tokens": activity.input_tokens,
            "output_tokens": activity.output_tokens,
            "total_tokens": activity.input_tokens + activity.output_tokens,
            "context_tokens": activity.context_tokens,
            "compaction_count": base.compaction_count + (1 if activity.compacted else 0),
        }
        if message:
            update["last_interaction_at"] = stamp
        return base.model_copy(update=update)

    return change
