"""The agent app driven over HTTP (ASGI), with a local workspace and a scripted model."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from clawbus.agent import AgentRuntime, create_app
from clawbus.agent.models import Model
from clawbus.agent.tools import Tool, ToolBox, workspace_tools
from clawbus.schemas import (
    Access,
    AgentRequest,
    AgentResponse,
    EventKind,
    InboundEvent,
    parse_agent_response,
)
from clawbus.storage import LocalSessionIndex, LocalTranscriptStore, LocalWorkspaceStore

NOW = datetime(2026, 1, 31, 9, 30, tzinfo=UTC)
SESSION_ID = "a" * 40


_TURNS = itertools.count(1)


def invocation(
    text: str = "hello",
    kind: EventKind = EventKind.MESSAGE,
    session_key: str = "agent:main:main",
    turn: str | None = None,
    access: Access | None = Access.OWNER,
) -> bytes:
    """One turn's request; each call is a new turn (its own event and reply id) unless `turn` names one.

    The owner speaks unless `access` says otherwise (None: an event from before ingress stamped it).
    """
    turn = turn or f"t{next(_TURNS)}"
    event = InboundEvent(
        event_id=f"webchat:{turn}",
        kind=kind,
        channel="webchat",
        session_key=session_key,
        text=text,
        access=access if kind is EventKind.MESSAGE else None,
    )
    return AgentRequest(session_key=session_key, reply_id=f"rp-{turn}", events=(event,)).to_wire().encode()


@dataclass
class Agent:
    """An agent app and what it runs with."""

    client: httpx.AsyncClient
    store: LocalWorkspaceStore
    runtime: AgentRuntime

    async def turn(
        self,
        text: str = "hello",
        kind: EventKind = EventKind.MESSAGE,
        session: str = SESSION_ID,
        turn: str | None = None,
        *,
        session_key: str = "agent:main:main",
        access: Access | None = Access.OWNER,
    ) -> AgentResponse:
        response = await self.client.post(
            "/invocations",
            content=invocation(text, kind, session_key, turn=turn, access=access),
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
        runtime = AgentRuntime(
            model=model,
            store=store,
            transcripts=LocalTranscriptStore(tmp_path / "sessions"),
            sessions=LocalSessionIndex(tmp_path / "sessions"),
            tools=tools,
            clock=lambda: NOW,
            **limits,  # type: ignore[arg-type]
        )
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(runtime)), base_url="http://agent"
        )
        clients.append(client)
        return Agent(client, store, runtime)

    yield make
    for client in clients:
        await client.aclose()
