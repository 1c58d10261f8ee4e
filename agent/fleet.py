"""Many agents in one container: a runtime per agent, chosen by the agent id each turn carries.

clawbus runs every agent on one shared AgentCore runtime (docs/architecture.md "Many agents"): the
dispatcher invokes it with the turn's events, which name their agent (`InboundEvent.agent_id`, set by
the bindings at ingress). Each agent gets a runtime of its own, opened on its first turn and kept for
the app's life, built from `settings_for_agent`: its own workspace (the S3 prefix `agents/<id>/`, or
`<workspace.dir>-<id>` locally, as OpenClaw's `workspace-<agentId>`), its model
(`routing.agents.<id>.model`), its tool policy (`agent.tools.agents.<id>`, applied per turn) and its
sessions (keyed by agent id in the stores). Nothing is shared between two agents' turns but the
process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack

from clawbus.agent.turn import AgentRuntime
from clawbus.bus.errors import PermanentError
from clawbus.bus.logging import log_event
from clawbus.bus.settings import Settings
from clawbus.schemas.session_key import DEFAULT_AGENT_ID, normalize_id

logger = logging.getLogger(__name__)
MAX_AGENTS = 32  # runtimes one container keeps open; more is a misconfiguration, not a workload
OpenOne = Callable[[Settings], AbstractAsyncContextManager[AgentRuntime]]


def settings_for_agent(settings: Settings, agent_id: str) -> Settings:
    """The settings agent `agent_id`'s runtime runs with (module docstring). Pure."""
    agent = normalize_id(agent_id, DEFAULT_AGENT_ID)
    default = normalize_id(settings.session.agent_id, DEFAULT_AGENT_ID)
    entry = settings.routing.agents.get(agent) or next(
        (e for k, e in settings.routing.agents.items() if normalize_id(k, "") == agent), None
    )
    update: dict[str, object] = {}
    if entry is not None and entry.model:
        update["model"] = entry.model
        update["fallbacks"] = entry.fallbacks or []
    if agent != default:
        workspace = settings.agent.workspace
        update["workspace"] = workspace.model_copy(
            update={"dir": workspace.dir.with_name(f"{workspace.dir.name}-{agent}")}
        )
        engine = settings.agent.openclaw
        if engine.state_dir is not None:
            state = engine.state_dir.with_name(f"{engine.state_dir.name}-{agent}")
            update["openclaw"] = engine.model_copy(update={"state_dir": state})
    return settings.model_copy(
        update={
            "session": settings.session.model_copy(update={"agent_id": agent}),
            "agent": settings.agent.model_copy(update=update),
        }
    )


class AgentFleet:
    """The open runtimes, one per agent; `default` (the default agent's) is open from the start."""

    def __init__(
        self, settings: Settings, open_one: OpenOne, stack: AsyncExitStack, default: AgentRuntime
    ) -> None:
        self._settings = settings
        self._open_one = open_one
        self._stack = stack
        self.default = default
        self._default_id = normalize_id(settings.session.agent_id, DEFAULT_AGENT_ID)
        self._runtimes: dict[str, AgentRuntime] = {self._default_id: default}
        self._lock = asyncio.Lock()

    async def runtime(self, agent_id: str) -> AgentRuntime:
        """Agent `agent_id`'s runtime, opened on first use."""
        agent = normalize_id(agent_id, DEFAULT_AGENT_ID)
        found = self._runtimes.get(agent)
        if found is not None:
            return found
        async with self._lock:
            if agent not in self._runtimes:
                if len(self._runtimes) >= MAX_AGENTS:
                    raise PermanentError(f"agent {agent!r}: this container already runs {MAX_AGENTS} agents")
                opened = await self._stack.enter_async_context(
                    self._open_one(settings_for_agent(self._settings, agent))
                )
                self._runtimes[agent] = opened
                log_event(logger, "agent.fleet.opened", agent=agent, model=opened.model.name)
            return self._runtimes[agent]


def open_agents(settings: Settings) -> AbstractAsyncContextManager[AgentFleet]:
    """The fleet `clawbus agent` serves: every agent's runtime built by `open_runtime`."""
    from clawbus.agent.runtime import open_runtime  # the heavy imports, once the agent app starts

    return open_fleet(settings, open_runtime)


@contextlib.asynccontextmanager
async def open_fleet(settings: Settings, open_one: OpenOne) -> AsyncIterator[AgentFleet]:
    """The fleet for `settings`, its default agent's runtime open, every runtime closed at the end."""
    async with AsyncExitStack() as stack:
        default_id = normalize_id(settings.session.agent_id, DEFAULT_AGENT_ID)
        default = await stack.enter_async_context(open_one(settings_for_agent(settings, default_id)))
        yield AgentFleet(settings, open_one, stack, default)
