"""The engine does not become ready when its gateway's warm-up turn never asked the trust plugin's
callback (the plugin did not load): every turn would otherwise get the owner's whole tool set."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from clawbus.agent.engines.openclaw.engine import OpenClawEngine
from clawbus.agent.engines.openclaw.gateway import GatewaySpec
from clawbus.agent.engines.state import LocalOnlyState
from clawbus.bus.errors import ConfigError
from clawbus.storage import LocalWorkspaceStore

SSE = b'data: {"choices": [{"delta": {"content": "ok"}}]}\n\ndata: [DONE]\n\n'


class StartedGateway:
    """A gateway that is already up: only what the engine's start reads."""

    def __init__(self, tmp: Path) -> None:
        self.spec = GatewaySpec(Path("openclaw"), tmp, tmp / "state", tmp / "state.log", 9, 1.0)
        self.ready = asyncio.Event()
        self.ready.set()

    async def start(self) -> None:
        """Nothing to start."""


def engine(tmp: Path, queries: int) -> OpenClawEngine:
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(200, content=SSE)))
    gateway: Any = StartedGateway(tmp)
    return OpenClawEngine(
        gateway,
        "token",
        LocalWorkspaceStore(tmp / "workspace"),
        LocalOnlyState(),
        http,
        model="openclaw",
        turn_timeout_s=5,
        trust_queries=lambda: queries,
    )


async def test_a_gateway_whose_warm_up_never_asked_the_trust_callback_is_never_ready(tmp_path: Path) -> None:
    unchecked = engine(tmp_path, queries=0)
    with pytest.raises(ConfigError, match="clawbus-trust plugin"):
        await unchecked.start()
    assert unchecked.warming


async def test_a_gateway_whose_warm_up_asked_it_becomes_ready(tmp_path: Path) -> None:
    checked = engine(tmp_path, queries=1)
    await checked.start()
    assert not checked.warming
