"""`/stop` at the agent: a control invocation stops the session's running turn at its next model or
tool boundary; the turn answers nothing and leaves nothing in the transcript (issue 21)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import pytest

from clawbus.agent.models import ScriptedModel, ToolCall, assistant
from clawbus.agent.models.base import Message, ModelReply, ToolSpec
from clawbus.agent.tools import Tool
from clawbus.agent.turn_control import TurnSignal
from clawbus.schemas import (
    AgentRequest,
    AgentResponse,
    InboundEvent,
    parse_agent_request,
    parse_agent_response,
)
from tests.agent.conftest import SESSION_ID, Agent, invocation


class StuckModel:
    """Hangs on its first call (until cancelled), then answers what it is told."""

    name = "test/stuck"

    def __init__(self) -> None:
        self.calls: list[Sequence[Message]] = []
        self.started = asyncio.Event()

    async def converse(
        self, system: str, messages: Sequence[Message], tools: Sequence[ToolSpec]
    ) -> ModelReply:
        del system, tools
        self.calls.append(list(messages))
        if len(self.calls) == 1:
            self.started.set()
            await asyncio.Event().wait()
        return ModelReply(assistant(f"answered: {messages[-1].text}"))


async def control(agent: Agent, command: str) -> AgentResponse:
    """Send a control invocation for the main session."""
    request = parse_agent_request(invocation("/" + command))
    body = request.model_copy(update={"control": command}).to_wire()
    response = await agent.client.post(
        "/invocations", content=body, headers={"X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": SESSION_ID}
    )
    assert response.status_code == 200, response.text
    return parse_agent_response(response.content)


async def test_stop_cuts_a_model_call_short_and_the_turn_answers_nothing(make_agent) -> None:  # type: ignore[no-untyped-def]
    model = StuckModel()
    agent = make_agent(model)
    turn = asyncio.create_task(agent.turn("think forever"))
    await asyncio.wait_for(model.started.wait(), 5)
    status = await control(agent, "status")
    assert status.running is not None
    assert status.running.running
    assert not status.running.stop_requested
    stop = await control(agent, "stop")
    assert stop.running is not None
    assert stop.running.stop_requested
    stopped = await asyncio.wait_for(turn, 5)
    assert (stopped.stopped, stopped.parts) == (True, ())
    after = await agent.turn("next")
    assert after.parts == ("answered: next",)
    assert [m.text for m in model.calls[1] if m.role == "user"] == ["next"]  # the stopped turn left nothing
    idle = await control(agent, "status")
    assert idle.running is not None
    assert not idle.running.running


async def test_a_running_tool_finishes_and_the_turn_stops_before_the_next_model_call(make_agent) -> None:  # type: ignore[no-untyped-def]
    entered, release = asyncio.Event(), asyncio.Event()

    async def work(_args: Mapping[str, object]) -> str:
        entered.set()
        await release.wait()
        return "done"

    tool = Tool(ToolSpec("work", "works", {"type": "object"}), work, timeout_s=10)  # type: ignore[arg-type]
    model = ScriptedModel([assistant("", ToolCall("w1", "work", {})), assistant("never said")])
    agent = make_agent(model, [tool])
    turn = asyncio.create_task(agent.turn("do the work"))
    await asyncio.wait_for(entered.wait(), 5)
    await control(agent, "stop")
    release.set()  # the running tool is not cancelled: it finishes
    stopped = await asyncio.wait_for(turn, 5)
    assert (stopped.stopped, stopped.parts) == (True, ())
    assert len(model.calls) == 1  # no model call after the stop


def test_a_control_request_is_an_optional_field_old_requests_still_parse() -> None:
    event = InboundEvent(event_id="e", channel="webchat", session_key="agent:main:main", text="hi")
    old = AgentRequest(session_key="agent:main:main", reply_id="r", events=(event,)).to_wire()
    assert '"control"' not in old
    assert parse_agent_request(old).control is None


async def test_a_resets_control_copy_never_stops_the_reset_turn_itself(make_agent) -> None:  # type: ignore[no-untyped-def]
    model = StuckModel()
    agent = make_agent(model)
    turn = asyncio.create_task(agent.turn("/new", turn="reset-1"))
    await asyncio.wait_for(model.started.wait(), 5)
    copy = parse_agent_request(invocation("/new", turn="reset-1")).model_copy(update={"control": "stop"})
    response = await agent.client.post(
        "/invocations",
        content=copy.to_wire(),
        headers={"X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": SESSION_ID},
    )
    report = parse_agent_response(response.content).running
    assert report is not None
    assert (report.running, report.stop_requested) == (True, False)
    turn.cancel()


async def test_a_cancelled_turn_cancels_the_step_it_was_racing() -> None:
    # e.g. the app shutting down mid-turn: no model or engine call is left running on its own
    entered, cancelled = asyncio.Event(), asyncio.Event()

    async def step() -> None:
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    outer = asyncio.create_task(TurnSignal("rp-1").race(step()))
    await asyncio.wait_for(entered.wait(), 5)
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    await asyncio.wait_for(cancelled.wait(), 5)
