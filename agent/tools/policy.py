"""Which tools a turn is offered: OpenClaw's tool policy, plus a reduced set for untrusted turns.

Anyone a channel admits can talk to the agent, but not everyone may act with the owner's authority: a
stranger in a group who could rewrite AGENTS.md would steer every later session, and one who could add
cron jobs would post into other people's chats. So a turn is *trusted* only when its session is not a
group or channel session and every event of the turn is trusted (`schemas.inbound.trusted`: scheduled
events, and DMs from the owner or an allowlisted/paired sender); the least trusted event decides.

The policy is OpenClaw's (`tools.profile`, `tools.allow`/`alsoAllow`/`deny`, per agent
`agents.entries.<id>.tools`), applied as a chain of layers, each of which can only remove tools:

1. the profile (the agent's replaces the global one; unset or `full` keeps everything), extended by
   `alsoAllow`;
2. the global `allow`/`deny`, then the agent's;
3. untrusted turns only: the `untrusted` layer (OpenClaw's `tools.sandbox.tools`, the policy of the
   sessions OpenClaw sandboxes). By default it allows `group:web` only. Why, per tool:
   - `write`, `edit`: workspace writes change AGENTS.md, SOUL.md, MEMORY.md, which steer every session;
   - `read`: the workspace holds the owner's private memory (MEMORY.md, memory/*.md); the bootstrap
     files a session may see are already in its prompt;
   - `memory_search`: the owner's private memory;
   - `send_file`: sends a workspace file to the chat, so it reads the owner's workspace as `read` does
     (and without `read` or `send_file` a turn's `MEDIA:` lines cannot send workspace files either);
   - `cron`: schedules turns that run with the owner's authority and messages into chats;
   - `browser`: writes screenshots into the workspace and drives a browser the owner's sessions share;
   - `web_fetch` stays: it reads public pages only (private addresses are refused) and touches nothing
     of the owner's.

In a layer, a non-empty `allow` blocks every tool it does not match and `deny` always wins. Entries are
tool names, `group:*` shorthands (OpenClaw's groups) or `*` wildcards, matched case-insensitively. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from clawbus.agent.prompt import SessionKind, session_kind
from clawbus.bus.settings import AgentToolSettings, ToolSettings, UntrustedToolSettings
from clawbus.schemas import InboundEvent, trusted

_BUILTIN_GROUPS: dict[str, tuple[str, ...]] = {
    "group:runtime": ("exec", "process", "code_execution"),
    "group:fs": ("read", "write", "edit", "apply_patch"),
    "group:sessions": (
        "sessions",
        "sessions_list",
        "sessions_history",
        "sessions_search",
        "conversations_list",
        "conversations_send",
        "conversations_turn",
        "sessions_send",
        "sessions_spawn",
        "sessions_yield",
        "subagents",
        "session_status",
        "suggest_task",
        "dismiss_task",
    ),
    "group:memory": ("memory_search", "memory_get"),
    "group:web": ("web_search", "x_search", "web_fetch"),
    "group:ui": ("browser", "screen", "theme", "dashboard", "terminal", "portal", "canvas", "show_widget"),
    "group:automation": ("heartbeat_respond", "cron", "gateway", "plugins", "openclaw"),
    "group:messaging": ("message", "send_file"),  # clawbus's send_file: a file with the reply
    "group:nodes": ("nodes", "computer"),
    "group:agents": (
        "agents_list",
        "get_goal",
        "create_goal",
        "update_goal",
        "progress_card",
        "ask_user",
        "skill_workshop",
    ),
    "group:media": ("view_image", "image_generate", "music_generate", "video_generate", "tts", "pdf"),
    "group:plugins": (),  # clawbus loads no plugins
}
_NOT_OPENCLAW = {"read", "write", "edit", "apply_patch", "exec", "process", "canvas", "send_file"}
GROUPS: dict[str, tuple[str, ...]] = {
    **_BUILTIN_GROUPS,
    "group:openclaw": tuple(
        dict.fromkeys(t for tools in _BUILTIN_GROUPS.values() for t in tools if t not in _NOT_OPENCLAW)
    ),
}
# Other names OpenClaw accepts for a tool (`automations` is the cron tool's newer name).
ALIASES = {"automations": "cron", "bash": "exec"}
PROFILES: dict[str, tuple[str, ...] | None] = {
    "minimal": ("session_status", "gateway"),
    "coding": (
        *("group:fs", "group:runtime", "group:web", "group:sessions", "group:memory", "cron", "gateway"),
        *("get_goal", "create_goal", "update_goal", "progress_card", "ask_user", "skill_workshop"),
        *("view_image", "image_generate", "music_generate", "video_generate"),
    ),
    "messaging": (
        *("group:messaging", "sessions", "sessions_list", "sessions_history", "sessions_search"),
        *("conversations_list", "conversations_send", "conversations_turn", "sessions_send"),
        *("sessions_spawn", "sessions_yield", "subagents", "session_status", "gateway", "ask_user"),
    ),
    "full": None,
}
UNTRUSTED_REASON = (
    "this turn is untrusted (a group or channel session, or a DM from a sender who is not the owner, "
    "allowlisted or paired), and untrusted turns get a reduced tool set"
)
POLICY_REASON = "the agent's tool policy does not offer it"


def _patterns(entries: Iterable[str]) -> frozenset[str]:
    """Entries lowercased, groups expanded, aliases replaced by the tool's name."""
    found: set[str] = set()
    for entry in entries:
        name = entry.strip().lower()
        found.update(GROUPS.get(name, (ALIASES.get(name, name),)))
    return frozenset(found)


def _matches(tool: str, patterns: frozenset[str]) -> bool:
    name = tool.lower()
    return any(fnmatchcase(name, pattern) for pattern in patterns)


@dataclass(frozen=True)
class Layer:
    """One step of the chain: a non-empty allowlist blocks what it does not match; deny always wins."""

    allow: frozenset[str] | None = None
    deny: frozenset[str] = frozenset()

    @classmethod
    def of(cls, allow: Sequence[str], deny: Sequence[str], also_allow: Sequence[str] = ()) -> Layer:
        """A layer from settings lists (an empty `allow` is no allowlist, as in OpenClaw)."""
        allowed = _patterns([*allow, *also_allow]) if allow else None
        return cls(allowed, _patterns(deny))

    def admits(self, tool: str) -> bool:
        """Whether `tool` passes this layer."""
        if _matches(tool, self.deny):
            return False
        return self.allow is None or _matches(tool, self.allow)


@dataclass(frozen=True)
class Offer:
    """The tools a turn is offered, in order, and why each other tool is not."""

    tools: tuple[str, ...]
    refused: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolPolicy:
    """The layers every turn passes, and those an untrusted turn passes as well."""

    every_turn: tuple[Layer, ...] = ()
    untrusted: tuple[Layer, ...] = ()

    def offer(self, tools: Sequence[str], *, trusted: bool) -> Offer:
        """The subset of `tools` this turn gets (order kept), and the reason for each one it does not."""
        offered: list[str] = []
        refused: dict[str, str] = {}
        for tool in tools:
            if not all(layer.admits(tool) for layer in self.every_turn):
                refused[tool] = POLICY_REASON
            elif not trusted and not all(layer.admits(tool) for layer in self.untrusted):
                refused[tool] = UNTRUSTED_REASON
            else:
                offered.append(tool)
        return Offer(tuple(offered), refused)


def _profile_layer(settings: ToolSettings, agent: AgentToolSettings) -> Layer:
    profile = agent.profile or settings.profile
    tools = PROFILES[profile] if profile else None
    if tools is None:
        return Layer()
    return Layer(_patterns([*tools, *settings.also_allow, *agent.also_allow]))


def _rule_layer(rule: UntrustedToolSettings) -> Layer:
    return Layer.of(rule.allow, rule.deny, rule.also_allow)


def policy_for(settings: ToolSettings, agent_id: str) -> ToolPolicy:
    """The policy of agent `agent_id` (its entry in `settings.agents`, matched case-insensitively)."""
    entries = {name.strip().lower(): entry for name, entry in settings.agents.items()}
    agent = entries.get(agent_id.strip().lower(), AgentToolSettings())
    return ToolPolicy(
        every_turn=(
            _profile_layer(settings, agent),
            Layer.of(settings.allow, settings.deny),
            Layer.of(agent.allow, agent.deny),
        ),
        untrusted=(_rule_layer(agent.untrusted or settings.untrusted),),
    )


def turn_trusted(session_key: str, events: Iterable[InboundEvent]) -> bool:
    """Whether a turn may use the owner's full tool set: not a group or channel session, and every
    event trusted (the least trusted event decides; a message without `access` is not trusted)."""
    if session_kind(session_key) is SessionKind.GROUP:
        return False
    return all(trusted(event) for event in events)
