"""OpenClaw's `openclaw.json`, read as clawbus settings.

The configuration document (docs/state.md "Config") configures the stages as it configures OpenClaw's
gateway. `map_document` turns the keys clawbus understands into a nested dict in `Settings`' field
names, which `Settings.with_document` places between the environment and the defaults: an explicit
`CLAWBUS_*` variable wins over the document, the document over the default.

A key of the document ends up in one of four places:

- *mapped*: known, and its value valid (`values`, with `origins` naming the key each setting came from);
- *unsupported*: a value OpenClaw accepts but clawbus cannot honour (`messages.queue.mode: "steer-backlog"`);
  the key is skipped, so the environment or default applies, and the reason is kept;
- *ignored*: a key clawbus does not read (`gateway`, `models`, every credential: those live in the
  secret store and are never mapped);
- an error: a known key whose value no OpenClaw accepts either raises `ConfigError` naming the key path
  and what it expects, before any stage uses it.

Tool policy (`tools`, each agent's `tools` under `agents.entries` or `agents.list`) maps onto `agent.tools`;
`sandbox.tools` becomes the layer for untrusted turns (the sessions OpenClaw sandboxes). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import json5
from pydantic import BaseModel, ValidationError

from clawbus.bus.errors import ConfigError
from clawbus.bus.settings import Settings
from clawbus.openclaw.heartbeat_config import HEARTBEAT_KEYS, map_agent_heartbeats
from clawbus.openclaw.routing_config import map_routing
from clawbus.openclaw.values import (
    MISSING,
    Convert,
    Unsupported,
    bad_value,
    boolean,
    checked,
    hours,
    id_list,
    integer,
    lookup,
    one_of,
    pairing_template,
    reset_block,
    reset_map,
    text_list,
    time_zone,
    tool_policy,
    unapplied_tool_keys,
)
from clawbus.schemas import DmScope

Path = tuple[str, ...]
MAPPED_CHANNELS = ("telegram", "slack", "discord", "whatsapp")
QUEUE_MODES = ("steer", "followup", "collect", "steer-backlog", "interrupt")
_QUEUE_MODE = one_of(*QUEUE_MODES, supported=("steer", "collect", "followup", "interrupt"))
_DM = one_of("pairing", "allowlist", "open", "disabled")
_GROUP = one_of("allowlist", "open", "disabled")
# Preview streaming: `progress` is clawbus's progress draft (docs/channels/drafts.md); `partial`/`block`
# stream the answer itself into the preview, which clawbus does not.
_STREAMING = one_of("off", "partial", "block", "progress", supported=("off", "progress"))
_CHANNEL_KEYS: dict[str, tuple[str, Convert]] = {
    "dmPolicy": ("dm_policy", _DM),
    "allowFrom": ("allow_from", id_list),
    "groupPolicy": ("group_policy", _GROUP),
    "groupAllowFrom": ("group_allow_from", id_list),
    "requireMention": ("require_mention", boolean),
    "groups.*.requireMention": ("require_mention", boolean),
    # The legacy flat key first, so the canonical `streaming.chunkMode` wins when both are set.
    "chunkMode": ("chunk_mode", one_of("length", "newline")),
    "streaming.chunkMode": ("chunk_mode", one_of("length", "newline")),
    "pairing.message": ("pairing_message", pairing_template),
    "streaming.mode": ("streaming", _STREAMING),
    # Per-account, per-group and per-topic overrides (OpenClaw's Telegram) are not read: one per channel.
    "errorPolicy": ("error_policy", one_of("always", "once", "silent")),
}


@dataclass(frozen=True)
class Rule:
    """One OpenClaw key (dotted path) onto one setting; `each` converts an object's entries one by one."""

    key: str
    target: Path
    convert: Convert
    each: bool = False


RULES: tuple[Rule, ...] = (
    Rule("session.dmScope", ("session", "dm_scope"), one_of(*(scope.value for scope in DmScope))),
    Rule("session.reset", ("session", "reset"), reset_block),
    Rule("session.resetByType", ("session", "reset_by_type"), reset_map(("direct", "group", "thread", "dm"))),
    Rule("session.resetByChannel", ("session", "reset_by_channel"), reset_map(None)),
    Rule("session.idleMinutes", ("session", "idle_minutes"), integer(0)),
    Rule("session.resetTriggers", ("session", "reset_triggers"), text_list),
    Rule("session.threadBindings.enabled", ("session", "thread_bindings", "enabled"), boolean),
    Rule("session.threadBindings.idleHours", ("session", "thread_bindings", "idle_hours"), hours),
    Rule("session.threadBindings.maxAgeHours", ("session", "thread_bindings", "max_age_hours"), hours),
    Rule("messages.queue.mode", ("dispatcher", "queue", "mode"), _QUEUE_MODE),
    Rule("messages.queue.debounceMs", ("dispatcher", "queue", "debounce_ms"), integer(0, 60_000)),
    Rule("messages.queue.cap", ("dispatcher", "queue", "cap"), integer(1, 1000, clamp=True)),
    Rule("messages.queue.drop", ("dispatcher", "queue", "drop"), one_of("old", "new", "summarize")),
    Rule(
        "messages.queue.debounceMsByChannel",
        ("dispatcher", "queue", "debounce_ms_by_channel"),
        integer(0, 60_000),
        each=True,
    ),
    Rule("messages.queue.byChannel", ("dispatcher", "queue", "by_channel"), _QUEUE_MODE, each=True),
    *(
        Rule(f"channels.{channel}.{key}", (channel, name), convert)
        for channel in MAPPED_CHANNELS
        for key, (name, convert) in _CHANNEL_KEYS.items()
    ),
    Rule("commands.ownerAllowFrom", ("commands", "owner_allow_from"), id_list),
    Rule("agents.defaults.userTimezone", ("agent", "timezone"), time_zone),
    Rule("agents.defaults.userTimezone", ("heartbeat", "timezone"), time_zone),
    *(
        Rule(f"agents.defaults.heartbeat.{key}", ("heartbeat", name), convert)
        for key, (name, convert) in HEARTBEAT_KEYS.items()
    ),
    Rule("agents.defaults.compaction.keepRecentTokens", ("agent", "keep_recent_tokens"), integer(0)),
    Rule("agents.defaults.bootstrapMaxChars", ("agent", "workspace", "bootstrap_max_chars"), integer(100)),
    Rule(
        "agents.defaults.bootstrapTotalMaxChars",
        ("agent", "workspace", "bootstrap_total_max_chars"),
        integer(100),
    ),
)
# Read together (below): Pi's reserveTokens, raised to at least OpenClaw's floor.
_RESERVE, _FLOOR = "agents.defaults.compaction.reserveTokens", "agents.defaults.compaction.reserveTokensFloor"
PI_RESERVE_TOKENS, RESERVE_TOKENS_FLOOR = 16_384, 20_000
_DEFAULT_GROUP_POLICY = "channels.defaults.groupPolicy"
_TOOL_KEYS = ("profile", "allow", "alsoAllow", "deny", "sandbox.tools", "byProvider", "toolsBySender")


@dataclass(frozen=True)
class MappedDocument:
    """What a document configures: `values` in settings names, and what was left out and why."""

    values: dict[str, Any]
    origins: dict[Path, str]  # settings path -> the OpenClaw key it came from
    unsupported: tuple[str, ...] = ()  # "key: reason"
    ignored: tuple[str, ...] = ()  # key paths clawbus does not read


class _Mapping:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.origins: dict[Path, str] = {}
        self.unsupported: list[str] = []

    def put(self, target: Path, value: Any, key: str) -> None:
        node = self.values
        for part in target[:-1]:
            node = node.setdefault(part, {})
        node[target[-1]] = value
        self.origins[target] = key

    def apply(self, rule: Rule, value: Any) -> None:
        if not rule.each:
            self.put(rule.target, checked(rule.key, rule.convert, value), rule.key)
            return
        if not isinstance(value, dict):
            raise bad_value(rule.key, "an object of channel names to values", value)
        entries = {}
        for name, item in value.items():
            try:
                entries[name] = checked(f"{rule.key}.{name}", rule.convert, item)
            except Unsupported as exc:
                self.unsupported.append(f"{rule.key}.{name}: {exc.reason}")
        self.put(rule.target, entries, rule.key)


def parse_document(text: str) -> dict[str, Any]:
    """The document's JSON5 text as an object; `ConfigError` when it is not one."""
    try:
        document = json5.loads(text)
    except ValueError as exc:
        raise ConfigError(f"openclaw.json is not valid JSON5 ({exc}); fix the stored document") from exc
    if not isinstance(document, dict):
        raise ConfigError("openclaw.json must hold a JSON object at the top level")
    return document


def map_document(document: Mapping[str, Any]) -> MappedDocument:
    """The settings `document` configures.

    Raises:
        ConfigError: a known key has a value OpenClaw would refuse too; the message names the key.
    """
    mapping = _Mapping()
    for rule in RULES:
        value = lookup(document, rule.key)
        if value is MISSING:
            continue
        try:
            mapping.apply(rule, value)
        except Unsupported as exc:
            mapping.unsupported.append(f"{rule.key}: {exc.reason}")
    _map_reserve(document, mapping)
    _map_default_group_policy(document, mapping)
    tool_keys = _map_tools(document, mapping)
    tool_keys |= map_routing(document, mapping.put, mapping.unsupported)
    tool_keys |= map_agent_heartbeats(document, mapping.put, mapping.unsupported)
    _validate(mapping)
    known = {rule.key for rule in RULES} | {_RESERVE, _FLOOR, _DEFAULT_GROUP_POLICY} | tool_keys
    return MappedDocument(
        mapping.values, mapping.origins, tuple(mapping.unsupported), tuple(_unknown(document, known))
    )


def _map_reserve(document: Mapping[str, Any], mapping: _Mapping) -> None:
    reserve, floor = lookup(document, _RESERVE), lookup(document, _FLOOR)
    if reserve is MISSING and floor is MISSING:
        return
    tokens = PI_RESERVE_TOKENS if reserve is MISSING else checked(_RESERVE, integer(0), reserve)
    least = RESERVE_TOKENS_FLOOR if floor is MISSING else checked(_FLOOR, integer(0), floor)
    mapping.put(
        ("agent", "reserve_tokens"), max(tokens, least), _RESERVE if reserve is not MISSING else _FLOOR
    )


def _map_default_group_policy(document: Mapping[str, Any], mapping: _Mapping) -> None:
    value = lookup(document, _DEFAULT_GROUP_POLICY)
    if value is MISSING:
        return
    policy = checked(_DEFAULT_GROUP_POLICY, _GROUP, value)
    for channel in MAPPED_CHANNELS:
        if (channel, "group_policy") not in mapping.origins:
            mapping.put((channel, "group_policy"), policy, _DEFAULT_GROUP_POLICY)


def _map_tools(document: Mapping[str, Any], mapping: _Mapping) -> set[str]:
    """`tools` and each agent's `tools` (`agents.entries.<id>`, else the legacy `agents.list[]`) onto
    `agent.tools` (`sandbox.tools` is the untrusted layer); the keys read."""
    blocks: list[tuple[str, Path, Any]] = []
    if (tools := lookup(document, "tools")) is not MISSING:
        blocks.append(("tools", ("agent", "tools"), tools))
    known = {f"tools.{key}" for key in _TOOL_KEYS}
    entries = lookup(document, "agents.entries")
    if isinstance(entries, Mapping):
        for agent_id, entry in entries.items():
            if isinstance(entry, Mapping) and "tools" in entry:
                key = f"agents.entries.{agent_id}.tools"
                blocks.append((key, ("agent", "tools", "agents", str(agent_id)), entry["tools"]))
                known |= {f"{key}.{part}" for part in _TOOL_KEYS}
    elif isinstance(roster := lookup(document, "agents.list"), list):
        known.add("agents.list")
        for index, entry in enumerate(roster):
            if isinstance(entry, Mapping) and "tools" in entry and isinstance(entry.get("id"), str):
                blocks.append(
                    (f"agents.list[{index}].tools", ("agent", "tools", "agents", entry["id"]), entry["tools"])
                )
    for key, target, value in blocks:
        for name, reason in unapplied_tool_keys(value):
            mapping.unsupported.append(f"{key}.{name}: {reason}")
        policy = checked(key, tool_policy, value)
        if policy:
            mapping.put(target, policy, key)
    return known


def _validate(mapping: _Mapping) -> None:
    """Check every mapped section against the settings models, naming the OpenClaw key on failure."""
    for section, values in mapping.values.items():
        model = Settings.model_fields[section].annotation
        assert isinstance(model, type)
        assert issubclass(model, BaseModel)
        try:
            model.model_validate(values)
        except ValidationError as exc:
            error = exc.errors()[0]
            path = (section, *(str(part) for part in error["loc"]))
            origin = next(
                (mapping.origins[path[:n]] for n in range(len(path), 0, -1) if path[:n] in mapping.origins),
                section,
            )
            raise ConfigError(f"openclaw.json {origin}: {error['msg']}") from exc


def _unknown(document: Mapping[str, Any], known: set[str], prefix: str = "") -> list[str]:
    """Key paths in `document` that no known key is, contains or lies under."""
    found = []
    for name, value in document.items():
        key = f"{prefix}{name}"
        if key in known:
            continue
        if isinstance(value, Mapping) and any(k.startswith(key + ".") for k in known):
            found.extend(_unknown(value, known, key + "."))
        else:
            found.append(key)
    return found
