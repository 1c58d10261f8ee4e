"""The control lane's pure part: `/queue`'s options, the effective queue settings, the answers' texts.

`/queue <steer|followup|collect|interrupt> [debounce:<n>[ms|s|m|h|d]] [cap:<n>] [drop:old|new|summarize]`
stores a per-session override (OpenClaw's syntax); `/queue default` or `/queue reset` clears it; `/queue`
alone shows what applies. Precedence, as upstream: the session's override, then `by_channel`, then the
configured mode.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from clawbus.bus.settings import QueueSettings

MODES = ("steer", "followup", "collect", "interrupt")
DROPS = ("old", "new", "summarize")
_DURATION = re.compile(r"^(?P<n>\d+(?:\.\d+)?)(?P<unit>ms|s|m|h|d)?$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


@dataclass(frozen=True)
class QueueOverride:
    """A session's stored `/queue` choice; None fields fall back to the settings."""

    mode: str | None = None
    debounce_ms: int | None = None
    cap: int | None = None
    drop: str | None = None


@dataclass(frozen=True)
class QueueCommand:
    """What a `/queue` message asks: `show`, `clear`, or `set` the override; or an `error` to answer."""

    action: str
    override: QueueOverride | None = None
    error: str | None = None


@dataclass(frozen=True)
class EffectiveQueue:
    """The queue settings that apply to one session's run."""

    mode: str
    debounce_ms: int
    cap: int
    drop: str


def _duration_ms(value: str) -> int | None:
    match = _DURATION.match(value.strip().lower())
    if match is None:
        return None
    return round(float(match["n"]) * _UNIT_MS[match["unit"] or "ms"])


def _option(override: QueueOverride, word: str) -> QueueOverride | str:
    """`override` with one `key:value` option applied, or the error text."""
    key, _, value = word.partition(":")
    key = key.lower()
    if key == "debounce":
        ms = _duration_ms(value)
        return replace(override, debounce_ms=ms) if ms is not None and ms <= 60_000 else "debounce:<0-60s>"
    if key == "cap":
        return replace(override, cap=int(value)) if value.isdigit() and int(value) >= 1 else "cap:<1 or more>"
    if key == "drop":
        return replace(override, drop=value.lower()) if value.lower() in DROPS else "drop:old|new|summarize"
    return f"unknown option {word!r}"


def parse_queue_command(args: str) -> QueueCommand:
    """The `/queue` command with `args` (the text after `/queue`). Pure."""
    words = args.split()
    if not words:
        return QueueCommand("show")
    if words[0].lower() in ("default", "reset") and len(words) == 1:
        return QueueCommand("clear")
    override = QueueOverride()
    for word in words:
        if word.lower() in MODES:
            override = replace(override, mode=word.lower())
            continue
        applied = _option(override, word)
        if isinstance(applied, str):
            usage = (
                "/queue steer|followup|collect|interrupt [debounce:500ms] [cap:20] [drop:old|new|summarize]"
            )
            return QueueCommand("error", error=f"{applied}. Usage: {usage}, or /queue default")
        override = applied
    return QueueCommand("set", override=override)


def effective_queue(settings: QueueSettings, override: QueueOverride | None, channel: str) -> EffectiveQueue:
    """The session's override over the channel's (`by_channel`, `debounce_ms_by_channel`) over the
    configured settings (upstream's precedence)."""
    o = override or QueueOverride()
    return EffectiveQueue(
        mode=o.mode or settings.mode_for(channel),
        debounce_ms=settings.debounce_ms_by_channel.get(channel, settings.debounce_ms)
        if o.debounce_ms is None
        else o.debounce_ms,
        cap=o.cap or settings.cap,
        drop=o.drop or settings.drop,
    )


def queue_text(queue: EffectiveQueue, *, overridden: bool) -> str:
    """One line naming the queue settings in force."""
    source = "this session's /queue" if overridden else "configured"
    return (
        f"Queue mode: {queue.mode} (debounce {queue.debounce_ms} ms, cap {queue.cap}, "
        f"drop {queue.drop}; {source})"
    )


def status_text(
    session_key: str, queue: EffectiveQueue, *, overridden: bool, running: str, waiting: str
) -> str:
    """`/status`'s answer: the session, its queue settings, its running turn, what waits."""
    return "\n".join(
        [
            f"Session: {session_key}",
            queue_text(queue, overridden=overridden),
            f"Running turn: {running}",
            f"Waiting: {waiting}",
        ]
    )


def mid_turn_action(copy: str | None, *, running: bool, mode: str) -> str | None:
    """What a message's mid-turn control copy (`steer`/`interrupt`, ingress's guess from the channel's
    configured mode) asks of the agent, given whether this dispatcher runs a turn of the session and
    the session's mode in force: `steer`, `interrupt`, or None (the FIFO copy alone answers it)."""
    if not running or copy not in ("steer", "interrupt") or mode not in ("steer", "interrupt"):
        return None
    return mode
