"""Building the agent's runtime from settings: the workspace store, the models, the tools.

`open_runtime(settings)` opens what the runtime holds for the life of the app (the S3 client, the
Bedrock Runtime client, HTTP clients) in one `AsyncExitStack`, so `clawbus agent` and the container
image open everything once at startup and close it at shutdown.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
from aiobotocore.config import AioConfig
from botocore.credentials import ReadOnlyCredentials

from clawbus.agent.cron_tool import cron_tool
from clawbus.agent.media.open_reader import open_media_reader
from clawbus.agent.models.base import Model
from clawbus.agent.models.bedrock import BedrockModel
from clawbus.agent.models.failover import FailoverModel
from clawbus.agent.models.offline import OfflineEcho
from clawbus.agent.models.openai_compat import OpenAICompatModel
from clawbus.agent.prompt import PromptCaps
from clawbus.agent.reply_media import ReplyMediaStager
from clawbus.agent.tools.base import Tool, ToolBox
from clawbus.agent.tools.browser import browser_tool
from clawbus.agent.tools.browser_agentcore import agentcore_browser
from clawbus.agent.tools.browser_playwright import Connect, PagePool, local_chromium
from clawbus.agent.tools.send_file import send_file_tool
from clawbus.agent.tools.web import web_fetch_tool
from clawbus.agent.tools.web_transport import PublicTransport
from clawbus.agent.tools.workspace import workspace_tools
from clawbus.agent.turn import AgentRuntime, Recall
from clawbus.bus.aws import is_loopback
from clawbus.bus.clients import AgentStoreClients, aws_session, open_stage_clients
from clawbus.bus.errors import ConfigError
from clawbus.bus.logging import log_event
from clawbus.bus.settings import Settings
from clawbus.bus.topology import sessions_table_name
from clawbus.storage import (
    AgentCoreMemoryTranscriptStore,
    DynamoSessionIndex,
    DynamoTranscriptStore,
    LocalSessionIndex,
    LocalTranscriptStore,
    LocalWorkspaceStore,
    S3WorkspaceStore,
    SessionIndex,
    TranscriptStore,
)
from clawbus.storage.backends import blob_store
from clawbus.storage.blobs import BlobStore
from clawbus.storage.reset import rules_from
from clawbus.storage.turn_journal import DynamoTurnJournal, LocalTurnJournal, TurnJournalStore

logger = logging.getLogger(__name__)


async def _bedrock_client(settings: Settings, stack: AsyncExitStack) -> Any:
    """One `bedrock-runtime` client, botocore retries off (failover classifies and moves on)."""
    bedrock = settings.agent.bedrock
    config = AioConfig(
        connect_timeout=settings.aws.connect_timeout_s,
        read_timeout=bedrock.read_timeout_s,
        retries={"total_max_attempts": 1, "mode": "standard"},
    )
    url = bedrock.endpoint_url
    credentials = (
        {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"} if is_loopback(url) else {}
    )
    return await stack.enter_async_context(
        aws_session().create_client(  # type: ignore[call-overload]  # no bedrock-runtime stubs pinned
            "bedrock-runtime",
            region_name=bedrock.region or settings.aws.region,
            endpoint_url=url,
            config=config,
            **credentials,
        )
    )


async def _model(name: str, settings: Settings, stack: AsyncExitStack, shared: dict[str, Any]) -> Model:
    provider, _, model_id = name.partition("/")
    if name == OfflineEcho.name:
        return OfflineEcho(tool_syntax=settings.agent.dev_tool_syntax)
    if provider == "bedrock" and model_id:
        if "bedrock" not in shared:
            shared["bedrock"] = await _bedrock_client(settings, stack)
        return BedrockModel(shared["bedrock"], model_id, settings.agent.bedrock.max_tokens)
    if provider == "openai" and model_id:
        openai = settings.agent.openai
        if "openai" not in shared:
            shared["openai"] = await stack.enter_async_context(
                httpx.AsyncClient(timeout=httpx.Timeout(openai.timeout_s, connect=10.0))
            )
        return OpenAICompatModel(
            shared["openai"], openai.base_url, model_id, openai.api_key, openai.max_tokens
        )
    raise ConfigError(
        f"unknown model {name!r} in CLAWBUS_AGENT__MODEL/FALLBACKS; use offline/echo, "
        f"bedrock/<modelId> or openai/<model> (provider {provider!r}, model {model_id!r})"
    )


async def open_workspace_store(
    settings: Settings, stack: AsyncExitStack, agent_id: str
) -> LocalWorkspaceStore | S3WorkspaceStore:
    workspace = settings.agent.workspace
    if workspace.backend == "local":
        return LocalWorkspaceStore(workspace.dir)
    clients = await stack.enter_async_context(open_stage_clients(settings, AgentStoreClients))
    return S3WorkspaceStore(clients.s3, settings.bus.bucket_name(), agent_id)


async def _memory_client(settings: Settings, stack: AsyncExitStack) -> Any:
    """A `bedrock-agentcore` data-plane client for AgentCore Memory (loopback endpoints: test keys)."""
    memory = settings.session.memory
    config = AioConfig(
        connect_timeout=settings.aws.connect_timeout_s,
        read_timeout=settings.aws.read_timeout_s,
        retries={"max_attempts": 3, "mode": "standard"},
    )
    loopback = is_loopback(memory.endpoint_url)
    return await stack.enter_async_context(
        aws_session().create_client(  # type: ignore[call-overload]  # service is a runtime string
            "bedrock-agentcore",
            region_name=memory.region or settings.aws.region,
            endpoint_url=memory.endpoint_url,
            config=config,
            **({"aws_access_key_id": "testing", "aws_secret_access_key": "testing"} if loopback else {}),
        )
    )


async def open_session_stores(
    settings: Settings, stack: AsyncExitStack
) -> tuple[TranscriptStore, SessionIndex, Recall | None]:
    """The transcript store, the session index and long-term recall `CLAWBUS_SESSION__*` choose."""
    session = settings.session
    if session.transcripts == "local":
        return LocalTranscriptStore(session.dir), LocalSessionIndex(session.dir), None
    clients = await stack.enter_async_context(open_stage_clients(settings, AgentStoreClients))
    table = sessions_table_name(settings.bus.prefix)
    index = DynamoSessionIndex(clients.dynamodb, table)
    if session.transcripts == "dynamodb":
        return (
            DynamoTranscriptStore(
                clients.dynamodb, clients.s3, table=table, bucket=settings.bus.bucket_name()
            ),
            index,
            None,
        )
    if not session.memory.memory_id:
        raise ConfigError(
            "CLAWBUS_SESSION__TRANSCRIPTS=agentcore-memory needs CLAWBUS_SESSION__MEMORY__MEMORY_ID "
            "(the AgentCore Memory resource id)"
        )
    memory = AgentCoreMemoryTranscriptStore(
        await _memory_client(settings, stack),
        session.memory.memory_id,
        namespace=session.memory.namespace,
        top_k=session.memory.top_k,
    )
    return memory, index, memory


async def _media_blobs(settings: Settings, stack: AsyncExitStack) -> BlobStore:
    """Where a reply's files go: the blob store egress reads them from (the state bucket)."""
    clients = await stack.enter_async_context(open_stage_clients(settings, AgentStoreClients))
    return blob_store(settings, clients)


async def open_turn_journal(settings: Settings, stack: AsyncExitStack) -> TurnJournalStore:
    """Where the loop journals a turn's steps: beside the transcripts (a directory, or the sessions
    table for the DynamoDB and AgentCore Memory transcripts, whose session index is there too)."""
    session = settings.session
    if session.transcripts == "local":
        journal = LocalTurnJournal(session.dir)
        if removed := await journal.sweep():  # DynamoDB's TTL does this for the sessions table
            log_event(logger, "agent.journal.swept", removed=removed)
        return journal
    clients = await stack.enter_async_context(open_stage_clients(settings, AgentStoreClients))
    return DynamoTurnJournal(clients.dynamodb, sessions_table_name(settings.bus.prefix))


async def _agentcore_browser(settings: Settings, stack: AsyncExitStack) -> Connect:
    """AgentCore Browser on a `bedrock-agentcore` client of its own (its endpoint may differ from the
    dispatcher's AgentCore Runtime endpoint); loopback endpoints get test credentials."""
    browser = settings.agent.browser
    region = browser.region or settings.aws.region
    session = aws_session()
    loopback = is_loopback(browser.endpoint_url)
    testing = ReadOnlyCredentials("testing", "testing", None)
    config = AioConfig(
        connect_timeout=settings.aws.connect_timeout_s,
        read_timeout=browser.timeout_s,
        retries={"max_attempts": 3, "mode": "standard"},
    )
    client = await stack.enter_async_context(
        session.create_client(  # type: ignore[call-overload]  # service is a runtime string
            "bedrock-agentcore",
            region_name=region,
            endpoint_url=browser.endpoint_url,
            config=config,
            **({"aws_access_key_id": "testing", "aws_secret_access_key": "testing"} if loopback else {}),
        )
    )

    async def credentials() -> ReadOnlyCredentials | None:
        if loopback:
            return testing
        found = await session.get_credentials()
        return None if found is None else await found.get_frozen_credentials()

    return agentcore_browser(
        client,
        credentials,
        identifier=browser.identifier,
        region=region,
        session_timeout_s=browser.session_timeout_s,
    )


def _is_file(path: str) -> bool:
    return Path(path).is_file()


async def _browser_pages(settings: Settings, stack: AsyncExitStack) -> PagePool:
    """The browser tool's page pool; the browser itself starts on first use."""
    browser = settings.agent.browser
    if importlib.util.find_spec("playwright") is None:
        raise ConfigError(
            f"CLAWBUS_AGENT__BROWSER__BACKEND={browser.backend} needs Playwright: "
            "pip install 'clawbus[browser]', or set the backend to off"
        )
    if browser.backend == "local":
        if not _is_file(browser.chromium_path):
            raise ConfigError(
                f"no Chromium at {browser.chromium_path}: apt-get install chromium, or set "
                "CLAWBUS_AGENT__BROWSER__CHROMIUM_PATH (or CLAWBUS_AGENT__BROWSER__BACKEND=off)"
            )
        connect = local_chromium(browser.chromium_path, frozenset(settings.agent.web.allow_hosts))
    else:
        connect = await _agentcore_browser(settings, stack)
    pool = PagePool(connect, timeout_s=browser.timeout_s, max_pages=browser.max_pages)
    return await stack.enter_async_context(pool)


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[AgentRuntime]:
    """The runtime for `settings`, open for the duration of the block."""
    agent = settings.agent
    async with AsyncExitStack() as stack:
        shared: dict[str, Any] = {}
        models = [await _model(name, settings, stack, shared) for name in [agent.model, *agent.fallbacks]]
        store = await open_workspace_store(settings, stack, settings.session.agent_id)
        transcripts, sessions, recall = await open_session_stores(settings, stack)
        journal = await open_turn_journal(settings, stack)
        http = await stack.enter_async_context(
            httpx.AsyncClient(
                transport=PublicTransport(frozenset(agent.web.allow_hosts)),  # public addresses only
                timeout=httpx.Timeout(agent.web.timeout_s),
                headers={"user-agent": "clawbus"},
            )
        )
        tools: list[Tool] = workspace_tools(store)
        media_cap = settings.storage.blob_max_bytes
        reply_media = ReplyMediaStager(store, await _media_blobs(settings, stack), http, media_cap)
        tools.append(send_file_tool(store, media_cap))
        tools.append(web_fetch_tool(http, max_bytes=agent.web.max_bytes, timeout_s=agent.web.timeout_s))
        cron = await stack.enter_async_context(cron_tool(settings))
        if cron is not None:
            tools.append(cron)
        if agent.browser.backend != "off":
            pages = await _browser_pages(settings, stack)
            tools.append(
                browser_tool(
                    pages,
                    store,
                    timeout_s=agent.browser.timeout_s,
                    allow_hosts=frozenset(agent.web.allow_hosts),
                )
            )
        engine = None
        if agent.engine == "openclaw":
            from clawbus.agent.engines.openclaw.launch import open_openclaw_engine  # imports only when chosen
            from clawbus.agent.engines.openclaw_state.stored_state import StoredOpenClawState

            # OpenClaw's state dir is a cache: each turn hydrates from and persists to the storage layer
            state = StoredOpenClawState(transcripts, sessions, store)
            engine = await stack.enter_async_context(
                open_openclaw_engine(settings, store, state, reply_media=reply_media)
            )
        yield AgentRuntime(
            model=FailoverModel(models),
            store=store,
            transcripts=transcripts,
            sessions=sessions,
            reset_rules=rules_from(settings.session),
            recall=recall,
            tools=ToolBox(tools, timeout_s=agent.tool_timeout_s),
            tool_policy=agent.tools,
            max_steps=agent.max_steps,
            caps=PromptCaps(agent.workspace.bootstrap_max_chars, agent.workspace.bootstrap_total_max_chars),
            timezone=agent.timezone,
            budget=agent.context_budget,
            keep_recent_tokens=agent.keep_recent_tokens,
            engine=engine,
            journal=journal,
            reply_media=reply_media,
            media=await open_media_reader(settings, stack),
        )
