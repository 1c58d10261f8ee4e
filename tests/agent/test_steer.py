"""Steering at the agent (issue 21, queue mode `steer`): a message sent while a turn runs goes into that
turn at its next boundary, as OpenClaw's runtime does; only from a sender as trusted as the turn's, only
into a turn that started before it; `interrupt` stops the turn for it."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from clawbus.agent.loop import SKIPPED
from clawbus.agent.models import ScriptedModel, ToolCall, assistant
from clawbus.agent.models.base import Message, ModelReply, ToolResult, ToolSpec
from clawbus.agent.tools import Tool
from clawbus.schemas import (
    Access,
    AgentRequest,
    AgentResponse,
    InboundEvent,
    Peer,
    PeerKind,
    Sender,
    parse_agent_response,
)
from clawbus.schemas.invocation import RunningTurnReport
from tests.agent.conftest import SESSION_ID, Agent

GROUP = "agent:main:telegram:group:-100"


class GatedModel:
    """Its first call waits for `release`; every call answers `answered: <last user text>`."""

    name = "test/gated"

    def __init__(self) -> None:
        self.calls: list[Sequence[Message]] = []
        self.started, self.release = asyncio.Event(), asyncio.Event()

    async def converse(
        self, system: str, messages: Sequence[Message], tools: Sequence[ToolSpec]
    ) -> ModelReply:
        del system, tools
        self.calls.append(list(messages))
        if len(self.calls) == 1:
            self.started.set()
            await self.release.wait()
        return ModelReply(assistant(f"answered: {messages[-1].text}"))


async def mid_turn(
    agent: Agent,
    control: str,
    text: str,
    *,
    session_key: str = "agent:main:main",
    access: Access = Access.OWNER,
    event_id: str = "webchat:later",
) -> RunningTurnReport:
    """A control invocation carrying a message sent now (after the running turn's)."""
    event = InboundEvent(
        event_id=event_id, channel="webchat", session_key=session_key, text=text, access=access
    )
    request = AgentRequest(session_key=session_key, reply_id="rp-c", events=(event,), control=control)  # type: ignore[arg-type]
    response = await agent.client.post(
        "/invocations",
        content=request.to_wire(),
        headers={"X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": SESSION_ID},
    )
    report = parse_agent_response(response.content).running
    assert report is not None
    return report


async def test_a_message_steered_during_the_model_call_gets_its_own_answer_after_the_first(
    make_agent,
) -> None:  # type: ignore[no-untyped-def]
    model = GatedModel()
    agent = make_agent(model)
    turn = asyncio.create_task(agent.turn("first"))
    await asyncio.wait_for(model.started.wait(), 5)
    report = await mid_turn(agent, "steer", "second")
    assert (report.running, report.steered) == (True, True)
    model.release.set()
    answered = await asyncio.wait_for(turn, 5)
    assert answered.parts == ("answered: first", "answered: second")  # one turn, each input answered
    assert answered.steered == ("webchat:later",)
    assert [m.text for m in model.calls[1] if m.role == "user"] == ["first", "second"]
    after = await agent.turn("third")  # the transcript kept the steered message in its place
    assert [m.text for m in model.calls[2] if m.role == "user"] == ["first", "second", "third"]
    assert after.steered == ()


async def test_a_steer_skips_the_unstarted_tool_calls_and_is_seen_before_the_next_model_call(
    make_agent,
) -> None:  # type: ignore[no-untyped-def]
    entered, release, ran = asyncio.Event(), asyncio.Event(), []

    async def work(args: Mapping[str, object]) -> str:
        ran.append(args["n"])
        entered.set()
        await release.wait()
        return "done"

    tool = Tool(ToolSpec("work", "works", {"type": "object"}), work, timeout_s=10)  # type: ignore[arg-type]
    calls = (ToolCall("w1", "work", {"n": 1}), ToolCall("w2", "work", {"n": 2}))
    model = ScriptedModel([assistant("", *calls), assistant("changed course")])
    agent = make_agent(model, [tool])
    turn = asyncio.create_task(agent.turn("do two things"))
    await asyncio.wait_for(entered.wait(), 5)
    assert (await mid_turn(agent, "steer", "only the first, please")).steered
    release.set()  # the running tool finishes; the second never starts
    answered = await asyncio.wait_for(turn, 5)
    assert ran == [1]
    assert answered.parts == ("changed course",)
    assert answered.steered == ("webchat:later",)
    seen = model.calls[1].messages[-1]
    results = [b for b in seen.blocks if isinstance(b, ToolResult)]
    assert [(r.tool_use_id, r.text) for r in results] == [("w1", "done"), ("w2", SKIPPED)]
    assert seen.text == "only the first, please"


async def test_a_less_trusted_senders_message_does_not_steer_the_turn(make_agent) -> None:  # type: ignore[no-untyped-def]
    model = GatedModel()
    agent = make_agent(model)
    turn = asyncio.create_task(agent.turn("owner asks"))  # the main session: every DM shares it
    await asyncio.wait_for(model.started.wait(), 5)
    stranger = await mid_turn(agent, "steer", "use your tools for me", access=Access.OPEN)
    interrupt = await mid_turn(agent, "interrupt", "stop that", access=Access.OPEN, event_id="webchat:x")
    assert (stranger.running, stranger.steered, interrupt.stop_requested) == (True, False, False)
    model.release.set()
    answered = await asyncio.wait_for(turn, 5)
    assert (answered.parts, answered.steered) == (("answered: owner asks",), ())  # it waits as followup
    assert [m.text for m in model.calls[-1] if m.role == "user"] == ["owner asks"]


def group_message(event_id: str, sender: str, text: str) -> InboundEvent:
    return InboundEvent(
        event_id=event_id,
        channel="telegram",
        session_key=GROUP,
        text=text,
        access=Access.GROUP,
        sender=Sender(id=sender),
        peer=Peer(kind=PeerKind.GROUP, id="-100"),
    )


async def invoke(agent: Agent, event: InboundEvent, control: str | None = None) -> AgentResponse:
    request = AgentRequest(session_key=GROUP, reply_id=f"rp-{event.event_id}", events=(event,))
    response = await agent.client.post(
        "/invocations",
        content=request.model_copy(update={"control": control}).to_wire(),
        headers={"X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": SESSION_ID},
    )
    return parse_agent_response(response.content)


async def test_in_a_group_only_the_turns_own_sender_steers_it(make_agent) -> None:  # type: ignore[no-untyped-def]
    model = GatedModel()
    agent = make_agent(model)
    turn = asyncio.create_task(invoke(agent, group_message("tg:1", "ann", "ann asks")))
    await asyncio.wait_for(model.started.wait(), 5)
    stranger = (await invoke(agent, group_message("tg:2", "bob", "me too"), "steer")).running
    own = (await invoke(agent, group_message("tg:3", "ann", "and quickly"), "steer")).running
    assert stranger is not None
    assert own is not None
    assert (stranger.steered, own.steered) == (False, True)
    model.release.set()
    answered = await asyncio.wait_for(turn, 5)
    assert answered.steered == ("tg:3",)  # bob's message is a turn of its own later


async def test_a_turns_own_message_or_an_older_one_never_steers_it(make_agent) -> None:  # type: ignore[no-untyped-def]
    model = GatedModel()
    agent = make_agent(model)
    early = InboundEvent(event_id="webchat:early", channel="webchat", session_key="agent:main:main", text="x")
    turn = asyncio.create_task(agent.turn("first", turn="own"))
    await asyncio.wait_for(model.started.wait(), 5)
    own = await mid_turn(agent, "steer", "first", event_id="webchat:own")
    request = AgentRequest(
        session_key="agent:main:main",
        reply_id="rp-c",
        events=(early.model_copy(update={"access": Access.OWNER}),),
        control="steer",
    )
    older = parse_agent_response(
        (
            await agent.client.post(
                "/invocations",
                content=request.to_wire(),
                headers={"X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": SESSION_ID},
            )
        ).content
    ).running
    assert older is not None
    assert (own.steered, older.steered) == (False, False)
    model.release.set()
    assert (await asyncio.wait_for(turn, 5)).steered == ()


async def test_interrupt_stops_the_running_turn_silently_and_nothing_runs_when_idle(make_agent) -> None:  # type: ignore[no-untyped-def]
    model = GatedModel()
    agent = make_agent(model)
    idle = await mid_turn(agent, "steer", "anyone there?", event_id="webchat:idle")
    assert (idle.running, idle.steered) == (False, None)  # no running turn: the message is a turn later
    turn = asyncio.create_task(agent.turn("long job"))
    await asyncio.wait_for(model.started.wait(), 5)
    assert (await mid_turn(agent, "interrupt", "never mind")).stop_requested
    stopped = await asyncio.wait_for(turn, 5)
    assert (stopped.stopped, stopped.parts) == (True, ())
