"""Building the agent's runtime from settings: the workspace store, the models, the tools.

`open_runtime(settings)` opens what the runtime holds for the life of the app (the S3 client, the
Bedrock Runtime client, HTTP clients) in one `AsyncExitStack`, so `clawbus agent` and the container
image open everything once at startup and close it at shutdown.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx

from clawbus.bus.aws import open_clients
from clawbus.bus.errors import ConfigError
from clawbus.bus.settings import Settings
from clawbus.bus.storage import LocalWorkspaceStore, S3WorkspaceStore, WorkspaceStore

from .models.base import Model
from .models.failover import FailoverModel
from .models.offline import OfflineEcho
from .prompt import PromptCaps
from .tools.base import Tool, ToolBox
from .tools.web import web_fetch_tool
from .tools.workspace import workspace_tools
from .turn import AgentRuntime


async def _model(name: str, settings: Settings, stack: AsyncExitStack) -> Model:
    provider, _, model_id = name.partition("/")
    if name == OfflineEcho.name:
        return OfflineEcho()
    raise ConfigError(
        f"unknown model {name!r} in CLAWBUS_AGENT__MODEL/FALLBACKS; use offline/echo, "
        f"bedrock/<modelId> or openai/<model> (provider {provider!r}, model {model_id!r})"
    )


async def _store(settings: Settings, stack: AsyncExitStack, agent_id: str) -> WorkspaceStore:
    workspace = settings.agent.workspace
    if workspace.backend == "local":
        return LocalWorkspaceStore(workspace.dir)
    clients = await stack.enter_async_context(open_clients(settings, "s3"))
    assert clients.s3 is not None
    return S3WorkspaceStore(clients.s3, settings.bus.bucket_name(), agent_id)


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[AgentRuntime]:
    """The runtime for `settings`, open for the duration of the block."""
    agent = settings.agent
    async with AsyncExitStack() as stack:
        models = [await _model(name, settings, stack) for name in [agent.model, *agent.fallbacks]]
        store = await _store(settings, stack, settings.session.agent_id)
        http = await stack.enter_async_context(
            httpx.AsyncClient(timeout=httpx.Timeout(agent.web.timeout_s), headers={"user-agent": "clawbus"})
        )
        tools: list[Tool] = workspace_tools(store)
        tools.append(
            web_fetch_tool(
                http,
                max_bytes=agent.web.max_bytes,
                timeout_s=agent.web.timeout_s,
                allow_hosts=frozenset(agent.web.allow_hosts),
            )
        )
        yield AgentRuntime(
            model=FailoverModel(models),
            store=store,
            tools=ToolBox(tools, timeout_s=agent.tool_timeout_s),
            max_steps=agent.max_steps,
            caps=PromptCaps(agent.workspace.bootstrap_max_chars, agent.workspace.bootstrap_total_max_chars),
            timezone=agent.timezone,
            budget=agent.context_budget,
            keep_recent_tokens=agent.keep_recent_tokens,
        )
