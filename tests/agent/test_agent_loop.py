"""A real agent turn over HTTP: prompt from the workspace, multi-step tools, errors, failover, heartbeats."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping

from clawbus.agent.models import FailoverModel, OfflineEcho, ScriptedModel, ToolCall, ToolResult, assistant
from clawbus.agent.models.base import ToolSpec
from clawbus.agent.tools import Tool
from clawbus.bus.errors import AgentRejected, Throttled, Unavailable
from clawbus.schemas import EventKind, TurnStatus
from clawbus.storage import SessionRef, export_jsonl
from tests.agent.conftest import invocation


def call(name: str, id_: str = "t1", **args: object) -> ToolCall:
    return ToolCall(id_, name, dict(args))


async def test_the_system_prompt_comes_from_the_workspace(make_agent) -> None:  # type: ignore[no-untyped-def]
    model = ScriptedModel([assistant("hi"), assistant("HEARTBEAT_OK")])
    agent = make_agent(model)
    await agent.store.write("AGENTS.md", "Always answer in French.")
    await agent.store.write("SOUL.md", "You are calm.")
    await agent.store.write("MEMORY.md", "User likes tea.")
    await agent.store.write("memory/2026-01-31.md", "Booked the dentist.")
    await agent.store.write("HEARTBEAT.md", "- [ ] check the dentist booking")
    await agent.turn("hello")
    system = model.calls[0].system
    for text in ("Always answer in French.", "You are calm.", "User likes tea.", "Booked the dentist."):
        assert text in system
    assert "check the dentist booking" not in system
    assert (await agent.turn("", kind=EventKind.HEARTBEAT)).parts == ()
    assert "check the dentist booking" in model.calls[1].system
    assert "Read HEARTBEAT.md" in model.calls[1].messages[-1].text


async def test_a_multi_step_tool_turn_writes_memory_and_answers(make_agent) -> None:  # type: ignore[no-untyped-def]
    model = ScriptedModel(
        [
            assistant("Noting that.", call("write", "w1", path="MEMORY.md", content="Likes green tea")),
            assistant("", call("edit", "e1", path="MEMORY.md", old_text="green", new_text="jasmine")),
            assistant("", call("read", "r1", path="MEMORY.md")),
            assistant("Saved: you like jasmine tea."),
        ]
    )
    agent = make_agent(model)
    reply = await agent.turn("remember I like green tea")
    assert reply.status is TurnStatus.OK
    assert reply.parts == ("Saved: you like jasmine tea.",)
    stored = await agent.store.read("MEMORY.md")
    assert stored is not None
    assert stored.text == "Likes jasmine tea"
    last_result = model.calls[3].messages[-1].blocks[0]
    assert last_result == ToolResult("r1", "Likes jasmine tea")
    assert model.calls[0].tools == ("read", "write", "edit", "memory_search")


async def test_a_failing_tool_is_reported_to_the_model_and_the_turn_goes_on(make_agent) -> None:  # type: ignore[no-untyped-def]
    model = ScriptedModel(
        [
            assistant("", call("read", path="nope.md"), call("no_such_tool", "t2")),
            assistant("It is not there."),
        ]
    )
    reply = await make_agent(model).turn("read nope.md")
    assert reply.parts == ("It is not there.",)
    results = model.calls[1].messages[-1].blocks
    assert isinstance(results[0], ToolResult)
    assert results[0].is_error
    assert "no file nope.md" in results[0].text
    assert isinstance(results[1], ToolResult)
    assert results[1].is_error
    assert "unknown tool" in results[1].text


async def test_a_tool_that_hangs_times_out_and_the_model_hears_of_it(make_agent) -> None:  # type: ignore[no-untyped-def]
    never = asyncio.Event()

    async def hang(_args: Mapping[str, object]) -> str:
        await never.wait()
        return "unreachable"

    slow = Tool(ToolSpec("slow", "hangs", {"type": "object"}), hang, timeout_s=0.05)
    model = ScriptedModel([assistant("", call("slow")), assistant("The tool was too slow.")])
    reply = await make_agent(model, [slow]).turn("go")
    assert reply.parts == ("The tool was too slow.",)
    result = model.calls[1].messages[-1].blocks[0]
    assert isinstance(result, ToolResult)
    assert result.is_error
    assert "timed out after 0.05s" in result.text


async def test_the_step_cap_stops_a_looping_model(make_agent) -> None:  # type: ignore[no-untyped-def]
    model = ScriptedModel(
        [assistant("looking", call("memory_search", f"s{i}", query="tea")) for i in range(5)]
    )
    reply = await make_agent(model, max_steps=3).turn("loop")
    assert len(model.calls) == 3
    assert reply.parts == ("looking\n\n(stopped after 3 tool steps without a final answer)",)


async def test_throttling_fails_over_to_the_next_model(make_agent) -> None:  # type: ignore[no-untyped-def]
    primary = ScriptedModel([Throttled("model busy")], name="scripted/primary")
    backup = ScriptedModel([assistant("from the backup")], name="scripted/backup")
    reply = await make_agent(FailoverModel([primary, backup])).turn("hi")
    assert (reply.parts, reply.model) == (("from the backup",), "scripted/backup")


async def test_when_every_model_fails_the_error_reply_is_classified(make_agent) -> None:  # type: ignore[no-untyped-def]
    models = [ScriptedModel([Unavailable("5xx")], name="a"), ScriptedModel([Throttled("429")], name="b")]
    reply = await make_agent(FailoverModel(models)).turn("hi")
    assert reply.status is TurnStatus.ERROR
    assert reply.error is not None
    assert (reply.error.type, reply.error.retryable) == ("Throttled", True)
    backup = ScriptedModel([assistant("never asked")], name="c")
    reply = await make_agent(FailoverModel([ScriptedModel([AgentRejected("bad request")]), backup])).turn(
        "hi"
    )
    assert reply.error is not None
    assert (reply.error.type, reply.error.retryable) == ("AgentRejected", False)
    assert backup.calls == []


async def test_heartbeat_acks_are_suppressed_and_empty_checklists_skip_the_model(make_agent) -> None:  # type: ignore[no-untyped-def]
    model = ScriptedModel([assistant("HEARTBEAT_OK"), assistant("**HEARTBEAT_OK** nothing to do")])
    agent = make_agent(model)
    await agent.store.write("HEARTBEAT.md", "- [ ] water the plants")
    assert (await agent.turn("", kind=EventKind.HEARTBEAT)).parts == ()
    assert (await agent.turn("", kind=EventKind.HEARTBEAT)).parts == ()
    await agent.store.write("HEARTBEAT.md", "# Heartbeat\n\n- [ ]\n")
    assert (await agent.turn("", kind=EventKind.HEARTBEAT)).parts == ()
    assert len(model.calls) == 2


async def test_a_heartbeat_md_of_comments_and_headings_is_skipped_without_calling_the_model(  # type: ignore[no-untyped-def]
    make_agent, caplog
) -> None:
    model = ScriptedModel([])  # any call would fail the turn: the script is empty
    agent = make_agent(model)
    await agent.store.write("HEARTBEAT.md", "<!-- Add tasks below. -->\n# Heartbeat\n\n- [ ]\n```\n```\n")
    with caplog.at_level(logging.INFO, logger="clawbus"):
        reply = await agent.turn("", kind=EventKind.HEARTBEAT)
    assert (reply.status, reply.parts) == (TurnStatus.OK, ())
    assert len(model.calls) == 0
    skipped = [r for r in caplog.records if r.getMessage() == "agent.heartbeat.skipped"]
    assert [getattr(r, "reason", None) for r in skipped] == ["empty-heartbeat-file"]


async def test_the_conversation_carries_over_between_turns(make_agent) -> None:  # type: ignore[no-untyped-def]
    model = ScriptedModel(
        [assistant("", call("memory_search", query="tea")), assistant("one"), assistant("two")]
    )
    agent = make_agent(model)
    await agent.turn("first")
    await agent.turn("second")
    texts = [m.text for m in model.calls[2].messages]
    assert texts[0] == "first"
    assert texts[-2:] == ["one", "second"]
    entry = await agent.runtime.sessions.get("main", "agent:main:main")
    assert entry is not None
    lines = await export_jsonl(agent.runtime.transcripts, SessionRef("main", entry.session_id))
    assert json.loads(lines[0])["type"] == "session"
    roles = [json.loads(line)["message"]["role"] for line in lines[1:]]
    assert roles == ["user", "assistant", "toolResult", "assistant", "user", "assistant"]


async def test_the_offline_echo_model_answers_and_acks_heartbeats(make_agent) -> None:  # type: ignore[no-untyped-def]
    agent = make_agent(OfflineEcho())
    assert (await agent.turn("hello")).parts == ("(native · offline echo · turn 1) You said: hello",)
    assert (await agent.turn("", kind=EventKind.HEARTBEAT)).parts == ()


async def test_bad_invocations_get_a_4xx_with_a_reason(make_agent) -> None:  # type: ignore[no-untyped-def]
    agent = make_agent(OfflineEcho())
    bad = await agent.client.post("/invocations", content=b'{"schema_version": 1, "events": []}')
    assert bad.status_code == 400
    assert "invalid invocation" in bad.json()["error"]
    big = await agent.client.post("/invocations", content=b"x" * 1_048_577)
    assert big.status_code == 413
    assert "over 1048576 bytes" in big.json()["error"]


async def test_ping_is_busy_while_a_turn_runs(make_agent) -> None:  # type: ignore[no-untyped-def]
    release = asyncio.Event()
    started = asyncio.Event()

    class Slow(OfflineEcho):
        async def converse(self, system, messages, tools):  # type: ignore[no-untyped-def]
            started.set()
            await release.wait()
            return await super().converse(system, messages, tools)

    agent = make_agent(Slow())
    assert (await agent.client.get("/ping")).json()["status"] == "Healthy"
    turn = asyncio.create_task(agent.client.post("/invocations", content=invocation("x")))
    await started.wait()
    assert (await agent.client.get("/ping")).json()["status"] == "HealthyBusy"
    release.set()
    assert (await turn).status_code == 200
    assert (await agent.client.get("/ping")).json()["status"] == "Healthy"
