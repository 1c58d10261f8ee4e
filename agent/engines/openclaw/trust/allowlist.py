"""The tools an untrusted OpenClaw turn may keep, as the concrete names OpenClaw's `toolsAllow` takes. Pure.

OpenClaw's prompt hook can only narrow a turn's tools with an allowlist, while clawbus's untrusted layer
(`AGENT__TOOLS__UNTRUSTED__*`, or the agent's own) is an allowlist *and* a denylist of names, groups and
wildcards. So the layer is evaluated here over every tool name clawbus knows (OpenClaw's core tools,
its groups' members and the names an allow entry spells out literally), and the survivors are the list:
a tool nobody named (another plugin's, an MCP server's) is not on it, so an untrusted turn never gets
it. clawbus's names are OpenClaw's, except `cron`, which under this engine is the `clawbus_cron` plugin
tool (OpenClaw's own `cron` is denied for every turn).
"""

from __future__ import annotations

from clawbus.agent.engines.openclaw.cron.config import BUILTIN_TOOL as CRON
from clawbus.agent.engines.openclaw.cron.config import TOOL_NAME as CLAWBUS_CRON
from clawbus.agent.tools.policy import ALIASES, GROUPS, policy_for
from clawbus.bus.settings import ToolSettings

KNOWN_TOOLS: tuple[str, ...] = tuple(
    dict.fromkeys([*(t for tools in GROUPS.values() for t in tools), *ALIASES.values()])
)
_OPENCLAW_NAME = {CRON: CLAWBUS_CRON}


def _literal_names(entries: list[str]) -> list[str]:
    """Allow entries that name one tool (no group, no wildcard), lowercased."""
    names = (entry.strip().lower() for entry in entries)
    return [ALIASES.get(n, n) for n in names if n and not n.startswith("group:") and not set("*?[") & set(n)]


def untrusted_tools_allow(tools: ToolSettings, agent_id: str) -> list[str]:
    """OpenClaw tool names an untrusted turn of agent `agent_id` may be offered (possibly none)."""
    untrusted = policy_for(tools, agent_id).untrusted
    agent = {k.strip().lower(): v for k, v in tools.agents.items()}.get(agent_id.strip().lower())
    rule = agent.untrusted if agent is not None and agent.untrusted is not None else tools.untrusted
    candidates = dict.fromkeys([*KNOWN_TOOLS, *_literal_names([*rule.allow, *rule.also_allow])])
    kept = (t for t in candidates if all(layer.admits(t) for layer in untrusted))
    return list(dict.fromkeys(_OPENCLAW_NAME.get(t, t) for t in kept))


def tools_allow_for(tools: ToolSettings, agent_id: str, *, trusted: bool) -> list[str] | None:
    """The turn's `toolsAllow`: None (its surface unchanged) for a trusted turn, else the untrusted list."""
    return None if trusted else untrusted_tools_allow(tools, agent_id)
