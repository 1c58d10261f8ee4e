"""The multi-agent part of `openclaw.json`: the agent roster, `bindings[]`, identity links, group scope.

Read as OpenClaw 2026.9.6 reads them (concepts/multi-agent.md, concepts/agent-bindings.md,
channels/channel-routing.md):

- the roster is `agents.entries.<id>` or, when that is absent, the legacy `agents.list[]` (`id`);
- the default agent (where unmatched messages go) is `agents.defaults.systemAgent.agentId` under
  `agents.ownership: "explicit"`, else the one entry marked `default: true`, else the sole agent. It
  becomes `session.agent_id` (and the heartbeat's agent). With several agents and none of these, OpenClaw
  refuses unmatched messages (`AGENT_SELECTION_REQUIRED`); clawbus sends them to `CLAWBUS_SESSION__AGENT_ID`
  and says so among the unsupported keys;
- an agent's `model` (a string, or `{primary, fallbacks}`) is mapped when clawbus has its provider;
- `bindings[]` are kept as OpenClaw writes them (`schemas/routing.py` matches them); ACP bindings
  (`type: "acp"`) are skipped; a binding naming an agent outside a non-empty roster is a `ConfigError`
  (OpenClaw refuses such a route too, but only when a message arrives);
- `session.identityLinks` and `session.groupScope` go to `routing`.

Pure: values in, values out (`openclaw.config.map_document` calls `map_routing`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from clawbus.bus.errors import ConfigError
from clawbus.schemas.routing import Binding, GroupScope
from clawbus.schemas.session_key import DEFAULT_AGENT_ID, normalize_id

Put = Callable[[tuple[str, ...], Any, str], None]
MODEL_PROVIDERS = ("offline", "bedrock", "openai")
THREADED_CHANNELS = ("slack", "discord")


def roster(document: Mapping[str, Any]) -> tuple[str, list[tuple[str, Mapping[str, Any]]]]:
    """The roster's key (`agents.entries` or `agents.list`) and its `(id, entry)` pairs, ids normalised."""
    agents = document.get("agents")
    agents = agents if isinstance(agents, Mapping) else {}
    entries = agents.get("entries")
    if isinstance(entries, Mapping):
        found = [
            (normalize_id(str(k), DEFAULT_AGENT_ID), v) for k, v in entries.items() if isinstance(v, Mapping)
        ]
        return "agents.entries", found
    listed = agents.get("list")
    if isinstance(listed, list):
        pairs = [(e.get("id"), e) for e in listed if isinstance(e, Mapping)]
        return "agents.list", [(normalize_id(i, DEFAULT_AGENT_ID), e) for i, e in pairs if isinstance(i, str)]
    return "", []


def settings_of(document: Mapping[str, Any]) -> Mapping[str, Any]:
    """The document's `agents` object, or an empty one."""
    agents = document.get("agents")
    return agents if isinstance(agents, Mapping) else {}


def _heartbeat_owner(agents: Mapping[str, Any], ids: list[str]) -> str | None:
    """`agents.defaults.heartbeat.agentId`, the ambient heartbeat's owner, when it names a known agent.

    Raises:
        ConfigError: it names no agent of a non-empty roster.
    """
    defaults = agents.get("defaults")
    heartbeat = defaults.get("heartbeat") if isinstance(defaults, Mapping) else None
    raw = heartbeat.get("agentId") if isinstance(heartbeat, Mapping) else None
    if raw is None:
        return None
    owner = normalize_id(raw, "") if isinstance(raw, str) else ""
    if not owner or (ids and owner not in ids):
        raise ConfigError(
            f"openclaw.json agents.defaults.heartbeat.agentId: expected an agent of the roster "
            f"({', '.join(ids) or 'any id'}), got {raw!r}"
        )
    return owner


def default_agent(document: Mapping[str, Any]) -> str | None:
    """The agent unmatched messages go to, as OpenClaw resolves it (module docstring), or None."""
    _key, agents = roster(document)
    ids = [agent_id for agent_id, _entry in agents]
    settings = settings_of(document)
    if settings.get("ownership") == "explicit":
        defaults = settings.get("defaults")
        system = defaults.get("systemAgent") if isinstance(defaults, Mapping) else None
        recorded = system.get("agentId") if isinstance(system, Mapping) else None
        chosen = normalize_id(recorded, "") if isinstance(recorded, str) else ""
        if chosen in ids:
            return chosen
    else:
        marked = [agent_id for agent_id, entry in agents if entry.get("default") is True]
        if len(marked) == 1:
            return marked[0]
    return ids[0] if len(ids) == 1 else None


def _model(value: Any) -> tuple[str | None, list[str] | None]:
    if isinstance(value, str):
        return value, None
    if isinstance(value, Mapping) and isinstance(value.get("primary"), str):
        fallbacks = value.get("fallbacks")
        return value["primary"], [f for f in fallbacks if isinstance(f, str)] if isinstance(
            fallbacks, list
        ) else None
    return None, None


def _map_agents(document: Mapping[str, Any], put: Put, unsupported: list[str]) -> tuple[set[str], list[str]]:
    key, agents = roster(document)
    known = {"agents.ownership", "agents.defaults.systemAgent.agentId", "agents.defaults.heartbeat.agentId"}
    for agent_id, entry in agents:
        where = f"{key}.{agent_id}" if key == "agents.entries" else f"{key}[{agent_id}]"
        if key == "agents.entries":
            raw_id = next(k for k in document["agents"]["entries"] if normalize_id(str(k), "") == agent_id)
            known |= {f"{key}.{raw_id}.default", f"{key}.{raw_id}.model"}
        model, fallbacks = _model(entry.get("model"))
        if model is None:
            continue
        usable = [m for m in [model, *(fallbacks or [])] if m.partition("/")[0] in MODEL_PROVIDERS]
        if not usable or usable[0] != model:
            unsupported.append(
                f"{where}.model: clawbus runs {', '.join(MODEL_PROVIDERS)} models, not {model}"
            )
            continue
        put(("routing", "agents", agent_id, "model"), model, f"{where}.model")
        if fallbacks is not None:
            put(("routing", "agents", agent_id, "fallbacks"), usable[1:], f"{where}.model")
    chosen = default_agent(document)
    if chosen is not None:
        put(("session", "agent_id"), chosen, f"{key} (default agent)")
    owner = _heartbeat_owner(settings_of(document), [agent_id for agent_id, _entry in agents])
    if owner is not None:
        put(("heartbeat", "agent_ids"), [owner], "agents.defaults.heartbeat.agentId")
    elif chosen is not None:
        put(("heartbeat", "agent_ids"), [chosen], f"{key} (default agent)")
    elif len(agents) > 1:
        unsupported.append(
            f"{key}: no default agent (no single `default: true`, no systemAgent): OpenClaw refuses unbound "
            "messages, clawbus sends them to CLAWBUS_SESSION__AGENT_ID"
        )
    return known, [agent_id for agent_id, _entry in agents]


def _map_bindings(document: Mapping[str, Any], put: Put, unsupported: list[str], agents: list[str]) -> None:
    raw = document.get("bindings")
    if raw is None:
        return
    if not isinstance(raw, list):
        raise ConfigError("openclaw.json bindings: expected a list of bindings")
    kept: list[dict[str, Any]] = []
    for index, item in enumerate(raw):
        if isinstance(item, Mapping) and item.get("type") == "acp":
            unsupported.append(f"bindings[{index}]: ACP bindings are not routed by clawbus")
            continue
        try:
            binding = Binding.model_validate(item)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"])
            raise ConfigError(f"openclaw.json bindings[{index}].{where}: {error['msg']}") from exc
        target = normalize_id(binding.agent_id, DEFAULT_AGENT_ID)
        if agents and target not in agents and target != DEFAULT_AGENT_ID:
            raise ConfigError(
                f"openclaw.json bindings[{index}].agentId: {binding.agent_id!r} is not in the agent roster "
                f"({', '.join(agents)})"
            )
        kept.append(binding.model_dump(mode="json", by_alias=True, exclude_defaults=True))
    put(("routing", "bindings"), kept, "bindings")


def map_routing(document: Mapping[str, Any], put: Put, unsupported: list[str]) -> set[str]:
    """Map the roster, bindings, identity links and group scope; the document keys read."""
    known, agents = _map_agents(document, put, unsupported)
    _map_bindings(document, put, unsupported, agents)
    session = document.get("session")
    session = session if isinstance(session, Mapping) else {}
    links = session.get("identityLinks")
    if links is not None:
        if not isinstance(links, Mapping) or not all(
            isinstance(ids, list) and all(isinstance(i, str) for i in ids) for ids in links.values()
        ):
            raise ConfigError(
                "openclaw.json session.identityLinks: expected an object of names to lists of ids"
            )
        put(
            ("routing", "identity_links"),
            {str(k): list(v) for k, v in links.items()},
            "session.identityLinks",
        )
    scope = session.get("groupScope")
    if scope is not None:
        if scope not in {s.value for s in GroupScope}:
            raise ConfigError(f"openclaw.json session.groupScope: expected main or per-group, got {scope!r}")
        put(("routing", "group_scope"), scope, "session.groupScope")
    threads = _map_thread_scopes(document, put)
    return known | threads | {"bindings", "session.identityLinks", "session.groupScope"}


def _map_thread_scopes(document: Mapping[str, Any], put: Put) -> set[str]:
    """`channels.<ch>.thread.historyScope` `channel` keeps threads in the channel's session."""
    channels = document.get("channels")
    scopes: dict[str, str] = {}
    for name in THREADED_CHANNELS:
        block = channels.get(name) if isinstance(channels, Mapping) else None
        thread = block.get("thread") if isinstance(block, Mapping) else None
        scope = thread.get("historyScope") if isinstance(thread, Mapping) else None
        if scope is None:
            continue
        if scope not in ("thread", "channel"):
            raise ConfigError(
                f"openclaw.json channels.{name}.thread.historyScope: expected thread or channel"
            )
        scopes[name] = scope
    if scopes:
        put(("routing", "thread_history_scope"), scopes, "channels.*.thread.historyScope")
    return {f"channels.{name}.thread.historyScope" for name in THREADED_CHANNELS}
