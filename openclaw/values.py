"""Checking and converting single values of OpenClaw's `openclaw.json` (used by `openclaw.config`).

Each converter takes the document's value and returns the clawbus settings value, or raises:

- `BadValue(expected)`: not a value OpenClaw accepts either (wrong type, unknown name, out of range);
  the caller turns it into a `ConfigError` naming the key (`checked`, `bad_value`);
- `Unsupported(reason)`: a value OpenClaw accepts but clawbus cannot honour (a queue mode it does not
  implement, a heartbeat window off the hour); the caller skips the key and says why.

Pure: no I/O beyond the time zone database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from clawbus.bus.errors import ConfigError, InvalidSchedule
from clawbus.bus.settings.stages import HEARTBEAT_TARGETS
from clawbus.storage.cron.expressions import zone
from clawbus.storage.cron.jobs import parse_every

Convert = Callable[[Any], Any]


class BadValue(ValueError):
    """A value no OpenClaw accepts; `expected` says what would be right."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


class _Missing:
    pass


MISSING: Any = _Missing()  # what `lookup` answers for a key the document does not have


def lookup(document: Mapping[str, Any], key: str) -> Any:
    """The value at dotted `key` (`agents.defaults.heartbeat.every`), or `MISSING`."""
    node: Any = document
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return MISSING
        node = node[part]
    return node


def checked(key: str, convert: Convert, value: Any) -> Any:
    """`value` converted, or a `ConfigError` naming the document's `key` and what it expects."""
    try:
        return convert(value)
    except BadValue as exc:
        raise bad_value(key, exc.expected, value) from exc


def bad_value(key: str, expected: str, value: Any) -> ConfigError:
    """The error for a value at `key` no OpenClaw accepts (the value shown shortened)."""
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return ConfigError(f"openclaw.json {key}: expected {expected}, got {shown}")


class Unsupported(ValueError):
    """A value OpenClaw accepts that clawbus cannot honour; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def one_of(*allowed: str, supported: Iterable[str] | None = None) -> Convert:
    """A string among `allowed`; one outside `supported` (when given) is `Unsupported`."""
    usable = set(allowed if supported is None else supported)

    def convert(value: Any) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise BadValue("one of " + ", ".join(allowed))
        if value not in usable:
            raise Unsupported(f"clawbus implements {', '.join(sorted(usable))}, not {value}")
        return value

    return convert


def integer(low: int, high: int | None = None, *, clamp: bool = False) -> Convert:
    """A whole number in `[low, high]`; with `clamp`, one outside the range is moved into it."""

    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            raise BadValue("a whole number")
        number = int(value)
        if clamp:
            return max(low, number if high is None else min(high, number))
        if number < low or (high is not None and number > high):
            raise BadValue(f"a whole number from {low}" + ("" if high is None else f" to {high}"))
        return number

    return convert


def hours(value: Any) -> float:
    """A number of hours, 0 or more (`session.threadBindings.idleHours`; 0 turns the limit off)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise BadValue("a number of hours, 0 or more")
    return float(value)


def boolean(value: Any) -> bool:
    """`true` or `false`."""
    if not isinstance(value, bool):
        raise BadValue("true or false")
    return value


def id_list(value: Any) -> list[str]:
    """A list of ids (strings, or numbers as Telegram ids often are written), as strings."""
    if not isinstance(value, list) or not all(
        isinstance(item, str | int) and not isinstance(item, bool) for item in value
    ):
        raise BadValue('a list of ids, e.g. ["tg:123", "*"]')
    return [str(item) for item in value]


def text_list(value: Any) -> list[str]:
    """A list of strings."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise BadValue('a list of strings, e.g. ["/new", "/reset"]')
    return list(value)


def _scheduler_accepts(check: Callable[[str], object], value: Any, expected: str) -> str:
    """`value` when it is a string `check` (a Scheduler rule from storage.cron) accepts, else `BadValue`."""
    if not isinstance(value, str):
        raise BadValue(expected)
    try:
        check(value)
    except InvalidSchedule as exc:
        raise BadValue(expected) from exc
    return value


def time_zone(value: Any) -> str:
    """An IANA time zone name (`Europe/Berlin`)."""
    return _scheduler_accepts(zone, value, "an IANA time zone name such as Europe/Berlin")


def duration(value: Any) -> str:
    """A heartbeat interval: `30m`, `1h`, `0m` (off) or a bare number of minutes, on whole minutes."""
    text = f"{value}m" if isinstance(value, int) and not isinstance(value, bool) else value
    expected = "a duration on whole minutes such as 30m or 1h (0m turns heartbeats off)"
    return _scheduler_accepts(parse_every, text, expected).strip().lower()


_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def hour_of_day(*, end: bool) -> Convert:
    """An `activeHours` bound `HH:MM` (end may be `24:00`) as clawbus's `HH:00`."""

    def convert(value: Any) -> str:
        match = _CLOCK.match(value) if isinstance(value, str) else None
        hour, minute = (int(match[1]), int(match[2])) if match else (99, 99)
        if hour > (24 if end else 23) or minute > 59 or (hour == 24 and minute):
            raise BadValue("a time HH:MM" + (" (up to 24:00)" if end else ""))
        if minute:
            raise Unsupported("heartbeat schedules run on whole hours (HH:00)")
        return f"{hour:02d}:00"

    return convert


def heartbeat_target(value: Any) -> str:
    """`owner`, `last`, `none` or a channel clawbus serves; another channel id is `Unsupported`."""
    if not isinstance(value, str) or not value:
        raise BadValue("owner, last, none or a channel id")
    if value not in HEARTBEAT_TARGETS:
        raise Unsupported(f"clawbus delivers heartbeats to {', '.join(HEARTBEAT_TARGETS)}")
    return value


def chat_id(value: Any) -> str:
    """A chat or account id, written as a string (or a number, as Telegram ids often are)."""
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        raise BadValue('a chat id as a string, e.g. "123456789"')
    return str(value).strip()


RESET_MODES = ("daily", "idle", "manual")
_RESET_FIELDS: dict[str, tuple[str, Convert]] = {
    "mode": ("mode", one_of(*RESET_MODES)),
    "atHour": ("at_hour", integer(0, 23, clamp=True)),  # OpenClaw clamps atHour to 0..23
    "idleMinutes": ("idle_minutes", integer(0)),
}


def reset_block(value: Any) -> dict[str, Any]:
    """A `{mode, atHour, idleMinutes}` block in settings names (other keys are ignored)."""
    if not isinstance(value, dict):
        raise BadValue('an object such as {"mode": "idle", "idleMinutes": 30}')
    block: dict[str, Any] = {}
    for key, (name, convert) in _RESET_FIELDS.items():
        if key in value:
            try:
                block[name] = convert(value[key])
            except BadValue as exc:
                raise BadValue(f"{key}: {exc.expected}") from exc
    return block


def reset_map(keys: Iterable[str] | None) -> Convert:
    """An object of reset blocks by type or channel name (`keys` limits the names, when given)."""
    allowed = None if keys is None else tuple(keys)

    def convert(value: Any) -> dict[str, dict[str, Any]]:
        if not isinstance(value, dict):
            raise BadValue('an object of reset blocks, e.g. {"telegram": {"mode": "idle"}}')
        mapped = {}
        for name, block in value.items():
            if allowed is not None and name not in allowed:
                raise BadValue(f"keys among {', '.join(allowed)}, not {name!r}")
            try:
                mapped[name] = reset_block(block)
            except BadValue as exc:
                raise BadValue(f"{name}: {exc.expected}") from exc
        return mapped

    return convert


TOOL_PROFILES = ("minimal", "coding", "messaging", "full")
_TOOL_LISTS = {"allow": "allow", "alsoAllow": "also_allow", "deny": "deny"}
# Tool policy keys OpenClaw has and clawbus does not apply: each would only restrict tools further, so
# the document says so rather than dropping them silently.
UNAPPLIED_TOOL_KEYS = {
    "byProvider": "clawbus applies no per-provider tool policy; use tools.allow/deny",
    "toolsBySender": "clawbus applies no per-sender tool policy; untrusted senders get tools.sandbox.tools",
}


def tool_lists(value: Any) -> dict[str, list[str]]:
    """An `{allow, alsoAllow, deny}` block (`tools.sandbox.tools`) in settings names."""
    if not isinstance(value, dict):
        raise BadValue('an object such as {"allow": ["group:web"], "deny": ["cron"]}')
    if value.get("allow") and value.get("alsoAllow"):
        raise BadValue("allow or alsoAllow, not both (merge alsoAllow into allow)")
    lists: dict[str, list[str]] = {}
    for key, name in _TOOL_LISTS.items():
        if key in value:
            try:
                lists[name] = text_list(value[key])
            except BadValue as exc:
                raise BadValue(f'{key}: a list of tool names or groups, e.g. ["group:fs", "cron"]') from exc
    return lists


def tool_policy(value: Any) -> dict[str, Any]:
    """A `tools` block (global or an agent's): profile, allow, alsoAllow, deny and `sandbox.tools`
    (the untrusted layer) in settings names; other keys are left to `unapplied_tool_keys`."""
    if not isinstance(value, dict):
        raise BadValue('an object such as {"profile": "coding", "deny": ["browser"]}')
    policy: dict[str, Any] = tool_lists({k: v for k, v in value.items() if k in _TOOL_LISTS})
    if "profile" in value:
        try:
            policy["profile"] = one_of(*TOOL_PROFILES)(value["profile"])
        except BadValue as exc:
            raise BadValue(f"profile: {exc.expected}") from exc
    sandbox = value.get("sandbox")
    if isinstance(sandbox, dict) and "tools" in sandbox:
        try:
            policy["untrusted"] = tool_lists(sandbox["tools"])
        except BadValue as exc:
            raise BadValue(f"sandbox.tools: {exc.expected}") from exc
    return policy


def unapplied_tool_keys(value: Any) -> list[tuple[str, str]]:
    """The keys of a `tools` block clawbus reads but does not apply, with the reason."""
    if not isinstance(value, dict):
        return []
    return [(key, reason) for key, reason in UNAPPLIED_TOOL_KEYS.items() if key in value]


def pairing_template(value: Any) -> str:
    """A pairing reply template: a string that shows the sender their `{code}` (else they cannot pair)."""
    if not isinstance(value, str) or "{code}" not in value:
        raise BadValue('a string holding the placeholder {code}, e.g. "Your code: {code}"')
    return value
