"""The agent app driven over HTTP (ASGI), with a local workspace and a scripted model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from clawbus.agent import AgentRuntime, create_app
from clawbus.agent.models import Model
from clawbus.agent.tools import Tool, ToolBox, workspace_tools
from clawbus.bus.storage import LocalWorkspaceStore
from clawbus.schemas import AgentRequest, AgentResponse, EventKind, InboundEvent, parse_agent_response

NOW = datetime(2026, 1, 31, 9, 30, tzinfo=UTC)
SESSION_ID = "a" * 40


def invocation(
    text: str = "hello", kind: EventKind = EventKind.MESSAGE, session_key: str = "agent:main:main"
) -> bytes:
    event = InboundEvent(
        event_id=f"webchat:{text[:20]}", kind=kind, channel="webchat", session_key=session_key, text=text
    )
    return AgentRequest(session_key=session_key, reply_id="r1", events=(event,)).to_wire().encode()


@dataclass
class Agent:
    """An agent app and what it runs with."""

    client: httpx.AsyncClient
    store: LocalWorkspaceStore
    runtime: AgentRuntime

    async def turn(
        self, text: str = "hello", kind: EventKind = EventKind.MESSAGE, session: str = SESSION_ID
    ) -> AgentResponse:
        response = await self.client.post(
            "/invocations",
            content=invocation(text, kind),
            headers={"X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": session},
        )
        assert response.status_code == 200, response.text
        return parse_agent_response(response.content)


@pytest.fixture
async def make_agent(tmp_path: Path):  # type: ignore[no-untyped-def]
    """`make_agent(model, extra_tools, **AgentRuntime limits)` -> an `Agent` on a fresh workspace."""
    clients: list[httpx.AsyncClient] = []

    def make(model: Model, extra_tools: Sequence[Tool] = (), **limits: object) -> Agent:
        store = LocalWorkspaceStore(tmp_path / "workspace")
        tools = ToolBox(
            [*workspace_tools(store), *extra_tools], timeout_s=float(limits.pop("timeout_s", 5.0))
        )  # type: ignore[arg-type]
        runtime = AgentRuntime(model=model, store=store, tools=tools, clock=lambda: NOW, **limits)  # type: ignore[arg-type]
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(runtime)), base_url="http://agent"
        )
        clients.append(client)
        return Agent(client, store, runtime)

    yield make
    for client in clients:
        await client.aclose()
