"""Putting the OpenClaw engine together from settings, for the life of the agent app.

Where things are: Node 24 and OpenClaw under `runtime_dir` (`node_modules/.bin/{node,openclaw}`),
OpenClaw's state under `state_dir`, the gateway's own output in `<state_dir>.log`; both default under
`<local.data_dir>`. The user's agents, models and tools come from the stored OpenClaw config (the
configuration store, `CLAWBUS_STORAGE__CONFIG`); with `CLAWBUS_AGENT__MODEL=offline/echo` the offline echo
is served on a loopback port and is the gateway's only model. The user's model-provider keys come from
the secret store (`<prefix>/agent/model-credentials`) into the gateway's environment only. The gateway
token is made per process.
The gateway starts and warms up in a background task, so the app answers `/ping` (busy) meanwhile.
Two loopback callbacks serve the engine's plugins: `trust` (each turn's tools follow its trust; always)
and `cron` (the agent's cron on clawbus's cron service; when that service can be reached).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from clawbus.agent.engines.openclaw.active_turns import ActiveTurns
from clawbus.agent.engines.openclaw.config import gateway_config
from clawbus.agent.engines.openclaw.cron.callback import serve_cron_callback
from clawbus.agent.engines.openclaw.cron.config import with_cron_plugin
from clawbus.agent.engines.openclaw.engine import OpenClawEngine
from clawbus.agent.engines.openclaw.gateway import Gateway, GatewaySpec
from clawbus.agent.engines.openclaw.install_layout import bin_dir, by_hand, installed
from clawbus.agent.engines.openclaw.reply_files import FolderBytes
from clawbus.agent.engines.openclaw.rpc import GatewayRpc
from clawbus.agent.engines.openclaw.trust.callback import serve_trust_callback
from clawbus.agent.engines.openclaw.trust.config import with_trust_plugin
from clawbus.agent.engines.state import EngineState, LocalOnlyState
from clawbus.agent.media.open_reader import open_media_reader
from clawbus.agent.models.echo_server import serve_echo
from clawbus.agent.models.offline import OfflineEcho
from clawbus.agent.reply_media import ReplyMediaStager
from clawbus.bus.clients import ConfigClients, SecretClients, open_stage_clients
from clawbus.bus.errors import ClawbusError, ConfigError, TargetGone
from clawbus.bus.logging import log_event
from clawbus.bus.serve import free_loopback_port
from clawbus.bus.settings import Settings
from clawbus.openclaw.config import parse_document
from clawbus.openclaw.model_credentials import model_secret_name
from clawbus.storage import SecretsManagerStore, WorkspaceStore
from clawbus.storage.backends import config_store, secret_store

logger = logging.getLogger(__name__)

ENGINE = "openclaw"


def runtime_dir(settings: Settings) -> Path:
    """Where Node 24 and OpenClaw are installed (`node_modules/.bin/…`)."""
    return settings.agent.openclaw.runtime_dir or settings.local.data_dir / "openclaw-runtime"


def binaries(root: Path) -> tuple[Path, Path]:
    """`(openclaw, node's bin dir)` under an install root; `ConfigError` naming the fix when missing."""
    if not installed(root):
        raise ConfigError(
            f"no Node 24 + OpenClaw under {root}: run 'clawbus up --engine openclaw' once (it installs "
            f"them), or {by_hand(root)}; or point CLAWBUS_AGENT__OPENCLAW__RUNTIME_DIR at an install"
        )
    return bin_dir(root) / "openclaw", bin_dir(root)


async def stored_config(settings: Settings) -> dict[str, Any] | None:
    """The user's OpenClaw config from the configuration store (None when none is stored)."""
    async with open_stage_clients(settings, ConfigClients) as clients:
        document = await config_store(settings, clients).read()
    return None if document is None else parse_document(document.text)


async def model_credentials(settings: Settings) -> dict[str, SecretStr]:
    """The model-provider keys of `<prefix>/agent/model-credentials` (environment names to values; none
    when the secret does not exist). A secret store that cannot be reached is logged, not fatal: a
    gateway on Bedrock or the offline echo needs no key, and one that does says so in its answer.
    Fully local (no AWS endpoint, a local config store: a laptop without `clawbus up`) there is no secret
    store; the gateway then takes keys from the agent's own environment, as OpenClaw does."""
    if settings.aws.endpoint_url is None and settings.storage.config == "local":
        return {}
    try:
        async with open_stage_clients(settings, SecretClients) as clients:
            store = secret_store(settings, clients)
            if not isinstance(store, SecretsManagerStore):
                raise ConfigError("the model credentials need the Secrets Manager secret store")
            values = dict(await store.get_document(model_secret_name(settings.bus.prefix)))
    except TargetGone:
        return {}
    except ClawbusError as exc:
        log_event(logger, "agent.openclaw.credentials_unavailable", logging.WARNING, reason=str(exc)[:500])
        return {}
    log_event(logger, "agent.openclaw.credentials_loaded", names=sorted(values))
    return values


@contextlib.asynccontextmanager
async def open_openclaw_engine(
    settings: Settings,
    store: WorkspaceStore,
    state: EngineState | None = None,
    *,
    reply_media: ReplyMediaStager | None = None,
) -> AsyncIterator[OpenClawEngine]:
    """The engine, its gateway starting in the background; stopped (gateway and all) when the block ends.
    `reply_media` stages the files its answers name (`MEDIA:` lines), read from OpenClaw's workspace."""
    oc = settings.agent.openclaw
    openclaw, node_bin = binaries(runtime_dir(settings))
    state_dir = oc.state_dir or settings.local.data_dir / "openclaw-state"
    stored = await stored_config(settings)
    credentials = await model_credentials(settings)
    async with AsyncExitStack() as stack:
        offline = settings.agent.model == OfflineEcho.name
        echo_key = secrets.token_urlsafe(32)  # the echo, like every loopback surface, admits only its caller
        echo = serve_echo(ENGINE, tool_syntax=settings.agent.dev_tool_syntax, api_key=echo_key)
        echo_url = await stack.enter_async_context(echo) if offline else None
        token = secrets.token_urlsafe(32)
        spec = GatewaySpec(
            openclaw=openclaw,
            node_bin=node_bin,
            state_dir=state_dir,
            log_path=state_dir.with_name(state_dir.name + ".log"),
            port=free_loopback_port(),
            start_timeout_s=oc.start_timeout_s,
        )
        config = gateway_config(
            stored,
            port=spec.port,
            token=token,
            echo_base_url=echo_url,
            echo_api_key=echo_key,
            workspace=str(state_dir / "workspace"),
        )
        turns = ActiveTurns()
        # each turn's tools follow its trust: the clawbus-trust plugin asks this callback before each turn
        trust = await stack.enter_async_context(serve_trust_callback(settings, turns))
        config = with_trust_plugin(config, url=trust.url, token=trust.token)
        try:  # the agent's cron goes to clawbus's cron service, through the clawbus_cron plugin
            callback = await stack.enter_async_context(serve_cron_callback(settings, turns))
            config = with_cron_plugin(config, url=callback.url, token=callback.token)
        except ClawbusError as exc:  # no cron service to reach: the agent answers without cron, as native
            log_event(logger, "agent.cron.unavailable", logging.WARNING, reason=str(exc)[:500])
        gateway = Gateway(spec, config, credentials)
        stack.push_async_callback(gateway.stop)
        http = await stack.enter_async_context(
            httpx.AsyncClient(timeout=httpx.Timeout(oc.turn_timeout_s, connect=5.0))
        )
        rpc = GatewayRpc(spec.port, token)  # text turns as `chat.send` runs: steerable (issue 21)
        stack.push_async_callback(rpc.close)
        primary = config["agents"]["defaults"].get("model", {}).get("primary", "")
        engine = OpenClawEngine(
            gateway,
            token,
            store,
            state or LocalOnlyState(),
            http,
            turns=turns,
            trust_queries=lambda: trust.queries.count,
            model=f"{ENGINE}/{primary}" if primary else ENGINE,
            turn_timeout_s=oc.turn_timeout_s,
            media=await open_media_reader(settings, stack),
            reply_media=reply_media.over(FolderBytes(state_dir / "workspace")) if reply_media else None,
            rpc=rpc,
        )

        async def start() -> None:
            try:
                await engine.start()
            except ClawbusError as exc:  # turns wait, then fail retryably; the log says why
                log_event(logger, "agent.openclaw.start_failed", logging.ERROR, error=str(exc)[:1000])

        task = asyncio.create_task(start())
        try:
            yield engine
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
