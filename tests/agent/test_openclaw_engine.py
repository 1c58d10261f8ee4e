"""The OpenClaw engine end to end inside the agent app: a real gateway, the offline echo as its model.

Needs Node 24 and OpenClaw (`CLAWBUS_TEST_OPENCLAW_RUNTIME`, else /tmp/ocrt, else the data dir's
`openclaw-runtime`): skipped, saying so, when none is installed. Each test starts one gateway (~1 GB,
10-40 s with warm-up), so they are `slow`; the module shares one agent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from clawbus.agent import create_app
from clawbus.agent.engines.openclaw.engine import OpenClawEngine
from clawbus.agent.runtime import open_runtime
from clawbus.agent.turn import AgentRuntime
from clawbus.bus.settings import Settings
from clawbus.schemas import Access, AgentRequest, EventKind, InboundEvent, parse_agent_response
from clawbus.schemas.invocation import RunningTurnReport
from tests.agent.conftest import invocation
from tests.helpers import NO_OPENCLAW, echo, eventually, openclaw_runtime

OC = "openclaw"

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


RUNTIME = openclaw_runtime()
if RUNTIME is None:
    pytest.skip(NO_OPENCLAW, allow_module_level=True)


def _settings(tmp: Path) -> Settings:
    return Settings.model_validate(
        {
            "local": {"data_dir": str(tmp)},
            "storage": {"config": "local", "local_dir": str(tmp / "state")},
            "session": {"transcripts": "local", "dir": str(tmp / "sessions")},
            "agent": {
                "engine": "openclaw",
                "workspace": {"backend": "local", "dir": str(tmp / "workspace")},
                "openclaw": {"runtime_dir": str(RUNTIME), "turn_timeout_s": 120},
                "dev_tool_syntax": True,  # `/<tool> {json}` drives a tool (tests only)
            },
        }
    )


@dataclass
class Running:
    client: httpx.AsyncClient
    runtime: AgentRuntime


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def agent(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Running]:
    tmp = tmp_path_factory.mktemp("openclaw")
    async with open_runtime(_settings(tmp)) as runtime:
        transport = httpx.ASGITransport(app=create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://agent", timeout=180) as client:
            yield Running(client, runtime)


async def _say(
    agent: Running, text: str, session_key: str, kind: EventKind = EventKind.MESSAGE
) -> tuple[str, ...]:
    body = invocation(text, session_key=session_key, kind=kind)
    response = await agent.client.post("/invocations", content=body)
    assert response.status_code == 200, response.text
    reply = parse_agent_response(response.content)
    assert reply.error is None, reply.error
    return reply.parts


async def test_ping_is_busy_while_the_gateway_warms_up_then_healthy(agent: Running) -> None:
    first = (await agent.client.get("/ping")).json()["status"]

    async def healthy() -> bool:
        return (await agent.client.get("/ping")).json()["status"] == "Healthy"

    await eventually(healthy, timeout=150, interval=0.5, what="the warmed gateway")
    assert first == "HealthyBusy"


async def test_three_turns_on_one_session_then_a_new_session_starts_at_turn_one(agent: Running) -> None:
    key = "agent:main:webchat:direct:alice"
    got = [await _say(agent, text, key) for text in ("one", "two", "three")]
    assert got == [(echo("one", 1, OC),), (echo("two", 2, OC),), (echo("three", 3, OC),)]
    assert await _say(agent, "hi", "agent:main:webchat:direct:bob") == (echo("hi", 1, OC),)


async def test_a_heartbeat_poll_is_acknowledged_and_not_delivered(agent: Running) -> None:
    assert await _say(agent, "", "agent:main:main", EventKind.HEARTBEAT) == ()


async def test_a_killed_gateway_is_restarted_and_the_session_goes_on(agent: Running) -> None:
    key = "agent:main:webchat:direct:carol"
    assert await _say(agent, "before", key) == (echo("before", 1, OC),)
    engine = agent.runtime.engine
    assert isinstance(engine, OpenClawEngine)
    pid = engine.gateway_pid
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)  # our gateway's own process group, nothing else
    assert await _say(agent, "after", key) == (echo("after", 2, OC),)
    assert engine.gateway_pid not in (None, pid)


async def _control(agent: Running, text: str, session_key: str, event_id: str) -> RunningTurnReport:
    """A `steer` control invocation for a message sent now (after the running turn's)."""
    event = InboundEvent(
        event_id=event_id, channel="webchat", session_key=session_key, text=text, access=Access.OWNER
    )
    request = AgentRequest(session_key=session_key, reply_id="rp-ctl", events=(event,), control="steer")
    response = await agent.client.post("/invocations", content=request.to_wire())
    report = parse_agent_response(response.content).running
    assert report is not None
    return report


async def test_a_message_sent_mid_turn_is_steered_into_it_and_the_turn_answers_both_once(
    agent: Running, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = "agent:main:webchat:direct:dora"
    started, gate = tmp_path / "started", tmp_path / "gate"
    # the turn's tool runs until the test opens the gate: the second message arrives while it runs
    script = f"touch {started}; while [ ! -e {gate} ]; do sleep 0.1; done; echo opened"
    first = invocation("/exec " + json.dumps({"command": script}), session_key=key)
    with caplog.at_level(logging.INFO, logger="clawbus"):
        turn = asyncio.create_task(agent.client.post("/invocations", content=first))

        async def running() -> bool:
            return started.exists()

        await eventually(running, timeout=120, what="the turn's tool running")
        report = await _control(agent, "and the weather?", key, "webchat:steered-1")

        async def sent() -> bool:
            return any(r.getMessage() == "agent.openclaw.steer_sent" for r in caplog.records)

        await eventually(sent, timeout=30, what="the steer at the gateway")
        gate.touch()
        reply = parse_agent_response((await turn).content)
    assert (report.running, report.steered) == (True, True)
    assert reply.error is None, reply.error
    # one answer, naming the steered message (the dispatcher records the turn under it: no second turn)
    assert reply.steered == ("webchat:steered-1",)
    assert reply.parts == (echo("and the weather?", 2, OC),)
