"""Each agent's heartbeat in `openclaw.json`: `agents.entries.<id>.heartbeat` (legacy `agents.list[]`).

OpenClaw 2026.9.6 (gateway/heartbeat.md "Per-agent heartbeats"): an agent's block merges over
`agents.defaults.heartbeat`, and once any agent has a block, only those agents run heartbeats. The keys
clawbus maps are those of the defaults' block (`HEARTBEAT_KEYS`); each lands in
`heartbeat.agents.<id>` (`HeartbeatSettings.per_agent` does the merge). An empty block enrols the agent
with the defaults. A value no OpenClaw accepts is a `ConfigError` naming the key; one clawbus cannot
honour (a channel it does not serve as `target`) is skipped and said. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from clawbus.openclaw.routing_config import roster
from clawbus.openclaw.values import (
    MISSING,
    Convert,
    Unsupported,
    bad_value,
    chat_id,
    checked,
    duration,
    heartbeat_target,
    hour_of_day,
    lookup,
    time_zone,
)

Put = Callable[[tuple[str, ...], Any, str], None]
# A heartbeat block's keys (`agents.defaults.heartbeat`, and each agent's `heartbeat`) → settings names.
HEARTBEAT_KEYS: dict[str, tuple[str, Convert]] = {
    "every": ("every", duration),
    "activeHours.start": ("active_start", hour_of_day(end=False)),
    "activeHours.end": ("active_end", hour_of_day(end=True)),
    "activeHours.timezone": ("timezone", time_zone),
    "target": ("target", heartbeat_target),
    "to": ("to", chat_id),
    "accountId": ("account_id", chat_id),
}


def map_agent_heartbeats(document: Mapping[str, Any], put: Put, unsupported: list[str]) -> set[str]:
    """Each agent's `heartbeat` block onto `heartbeat.agents.<id>`; the document keys read."""
    key, agents = roster(document)
    known: set[str] = set()
    for agent_id, entry in agents:
        block = entry.get("heartbeat")
        if block is None:
            continue
        if key == "agents.entries":
            raw = next(k for k, v in document["agents"]["entries"].items() if v is entry)
            where = f"{key}.{raw}.heartbeat"
        else:
            where = f"{key}[{agent_id}].heartbeat"
        if not isinstance(block, Mapping):
            raise bad_value(where, "an object", block)
        put(("heartbeat", "agents", agent_id), {}, where)
        for part, (name, convert) in HEARTBEAT_KEYS.items():
            known.add(f"{where}.{part}")
            value = lookup(block, part)
            if value is MISSING:
                continue
            try:
                put(
                    ("heartbeat", "agents", agent_id, name), checked(f"{where}.{part}", convert, value), where
                )
            except Unsupported as exc:
                unsupported.append(f"{where}.{part}: {exc.reason}")
    return known
