"""Many agents on one bus: the agents, OpenClaw's `bindings[]`, identity links and the group scope.

`agents` holds what differs per agent (its model); every agent id, listed or only named by a binding,
gets its own sessions, transcripts and workspace (the storage layer keys them by agent id). Unmatched
messages go to `session.agent_id` (OpenClaw's default agent). `schemas/routing.py` does the matching.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from clawbus.schemas import DmScope
from clawbus.schemas.routing import Binding, GroupScope, RoutingTable


class AgentEntry(BaseModel):
    """One agent's own settings (OpenClaw's `agents.entries.<id>`): unset means the global one."""

    model: str | None = None  # provider/model, as CLAWBUS_AGENT__MODEL
    fallbacks: list[str] | None = None


class RoutingSettings(BaseModel):
    """Which agent answers which conversation (docs/configuration.md "Many agents").

    `bindings` are OpenClaw's (JSON, camelCase as in openclaw.json); `identity_links` maps a canonical
    person to their ids on each channel (`{"alice": ["telegram:42", "slack:U1"]}`), used by every
    `dm_scope` but `main`; `group_scope` `main` puts groups and channels into the main session.
    """

    agents: dict[str, AgentEntry] = Field(default_factory=dict)
    bindings: list[Binding] = Field(default_factory=list)
    identity_links: dict[str, list[str]] = Field(default_factory=dict)
    group_scope: GroupScope = GroupScope.PER_GROUP
    # per channel: `thread` (a thread is its own session, the default) or `channel` (it shares its
    # channel's session: OpenClaw's `channels.<ch>.thread.historyScope`, resolveThreadSessionKeys' useSuffix)
    thread_history_scope: dict[str, Literal["thread", "channel"]] = Field(default_factory=dict)

    def table(self, default_agent: str, dm_scope: DmScope) -> RoutingTable:
        """The routing table ingress resolves every message against."""
        return RoutingTable(
            default_agent=default_agent,
            bindings=tuple(self.bindings),
            dm_scope=dm_scope,
            group_scope=self.group_scope,
            identity_links=self.identity_links,
            shared_thread_channels=frozenset(
                name.lower() for name, scope in self.thread_history_scope.items() if scope == "channel"
            ),
        )

    def agent_ids(self, default_agent: str) -> list[str]:
        """Every agent the configuration names: the default first, then listed ones, then bound ones."""
        named = [default_agent, *self.agents, *(binding.agent_id for binding in self.bindings)]
        return list(dict.fromkeys(name.strip().lower() for name in named if name.strip()))
