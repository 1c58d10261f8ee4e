"""When a conversation starts over: OpenClaw's session reset rules, as pure functions.

A session key (the conversation) keeps one `sessionId` (its transcript) until the session goes stale;
the next inbound message then starts a new `sessionId` and the old transcript is kept as an archive.
Staleness is checked only when a message arrives, never in the background:

- `daily` (the default): stale once the most recent `at_hour` boundary (04:00 by default, in the
  deployment's timezone) lies after the session started;
- `idle`: stale once the last interaction is more than `idle_minutes` ago;
- `daily` with `idle_minutes` set: whichever expires first;
- `manual`: never stale; only `/new` or `/reset` start over.

Which policy applies: `reset_by_channel[<channel>]`, else `reset_by_type[direct|group|thread]` (legacy
`dm` means `direct`), else `reset`; an override's unset fields come from `reset`. The legacy
`session.idleMinutes`, with no `reset` configured, means idle-only. `/new` and `/reset` (the triggers)
start a new session whatever the policy; the rest of the message passes through, and a trigger alone
gets a short greeting turn.

Everything here takes `now` and a timezone; nothing reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from clawbus.bus.settings import ResetOverride, SessionSettings
from clawbus.schemas.session_key_parse import parse_session_key, scope_legacy_key

ResetMode = Literal["daily", "idle", "manual"]
ChatType = Literal["direct", "group", "thread"]
DEFAULT_AT_HOUR = 4
DEFAULT_IDLE_MINUTES = 60  # idle mode without idle_minutes (OpenClaw's older default)
GREETING_PROMPT = (
    "A new session was started by the user. Greet them briefly (one or two sentences) and ask what "
    "they would like to do."
)


@dataclass(frozen=True)
class ResetPolicy:
    """The rule that applies to one session. `idle_minutes` None or 0 means no idle expiry."""

    mode: ResetMode = "daily"
    at_hour: int = DEFAULT_AT_HOUR
    idle_minutes: int | None = None


@dataclass(frozen=True)
class ResetRules:
    """Every configured rule (OpenClaw's `session.reset`, `resetByType`, `resetByChannel`, legacy
    `session.idleMinutes`); `reset_configured` tells a configured `reset` from the default."""

    reset: ResetOverride = field(default_factory=ResetOverride)
    by_type: dict[str, ResetOverride] | None = None
    by_channel: dict[str, ResetOverride] | None = None
    legacy_idle_minutes: int | None = None
    reset_configured: bool = False
    triggers: tuple[str, ...] = ("/new", "/reset")


def rules_from(session: SessionSettings) -> ResetRules:
    """The reset rules `CLAWBUS_SESSION__*` configure."""
    return ResetRules(
        reset=ResetOverride(
            mode=session.reset.mode, at_hour=session.reset.at_hour, idle_minutes=session.reset.idle_minutes
        ),
        by_type=dict(session.reset_by_type),
        by_channel=dict(session.reset_by_channel),
        legacy_idle_minutes=session.idle_minutes,
        reset_configured="reset" in session.model_fields_set,
        triggers=tuple(session.reset_triggers),
    )


def clamp_hour(hour: int) -> int:
    """`atHour` clamped to 0..23, as OpenClaw does."""
    return min(max(hour, 0), 23)


def _base(rules: ResetRules) -> ResetPolicy:
    if not rules.reset_configured and rules.legacy_idle_minutes:
        return ResetPolicy(mode="idle", idle_minutes=rules.legacy_idle_minutes)
    reset = rules.reset
    mode: ResetMode = reset.mode or "daily"
    idle = reset.idle_minutes if reset.idle_minutes is not None else rules.legacy_idle_minutes
    return ResetPolicy(mode, clamp_hour(DEFAULT_AT_HOUR if reset.at_hour is None else reset.at_hour), idle)


def _merge(base: ResetPolicy, override: ResetOverride) -> ResetPolicy:
    return ResetPolicy(
        mode=override.mode or base.mode,
        at_hour=clamp_hour(base.at_hour if override.at_hour is None else override.at_hour),
        idle_minutes=base.idle_minutes if override.idle_minutes is None else override.idle_minutes,
    )


def policy_for(rules: ResetRules, *, chat_type: ChatType, channel: str | None) -> ResetPolicy:
    """The policy for a session of `chat_type` on `channel` (channel beats type beats the default)."""
    policy = _base(rules)
    by_type = {("direct" if k == "dm" else k): v for k, v in (rules.by_type or {}).items()}
    if chat_type in by_type:
        policy = _merge(policy, by_type[chat_type])
    if channel and rules.by_channel and channel in rules.by_channel:
        policy = _merge(policy, rules.by_channel[channel])
    return policy


def chat_type_of(session_key: str) -> ChatType:
    """`thread` for thread/topic keys, `group` for group and channel keys, else `direct`."""
    parsed = parse_session_key(scope_legacy_key("main", session_key))
    if parsed.threaded:
        return "thread"
    return "group" if parsed.group_like else "direct"


def daily_boundary(now: datetime, at_hour: int, timezone: str) -> datetime:
    """The most recent `at_hour`:00 in `timezone` at or before `now` (an aware datetime)."""
    local = now.astimezone(ZoneInfo(timezone))
    boundary = local.replace(hour=clamp_hour(at_hour), minute=0, second=0, microsecond=0)
    if boundary > local:
        boundary -= timedelta(days=1)
        boundary = boundary.replace(hour=clamp_hour(at_hour))  # keep the wall-clock hour across DST
    return boundary


def is_stale(
    policy: ResetPolicy,
    *,
    started_at: datetime,
    last_interaction_at: datetime,
    now: datetime,
    timezone: str,
) -> bool:
    """Whether a session that started at `started_at`, last spoken to at `last_interaction_at`, has
    expired by `now` (daily boundary passed, or idle too long; whichever comes first)."""
    if policy.mode == "manual":
        return False
    idle = policy.idle_minutes
    if policy.mode == "idle" and not idle:
        idle = DEFAULT_IDLE_MINUTES
    if idle and now - last_interaction_at > timedelta(minutes=idle):
        return True
    return policy.mode == "daily" and started_at < daily_boundary(now, policy.at_hour, timezone)


@dataclass(frozen=True)
class Trigger:
    """A reset trigger at the start of a message: which one, and the text after it ('' when alone)."""

    command: str
    rest: str

    @property
    def alone(self) -> bool:
        """A trigger with nothing after it gets a greeting turn."""
        return not self.rest


def parse_trigger(text: str, triggers: tuple[str, ...] = ("/new", "/reset")) -> Trigger | None:
    """The trigger `text` starts with (`/new`, `/reset`, case-insensitive, a whole word), or None."""
    stripped = text.strip()
    head, _, rest = stripped.partition(" ")
    if "\n" in head:
        head, _, more = head.partition("\n")
        rest = f"{more} {rest}".strip() if rest else more
    wanted = {t.lower() for t in triggers}
    if head.lower() not in wanted:
        return None
    return Trigger(head.lower(), rest.strip())
