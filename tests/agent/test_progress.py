"""What a streamed turn tells the dispatcher while it runs (issue 21): a first event at once, a progress
line per tool started, then the answer; and the lines a user sees for each tool."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
import uvicorn

from clawbus.agent.models import ScriptedModel, ToolCall, assistant
from clawbus.agent.models.base import ToolSpec
from clawbus.agent.progress import tool_line
from clawbus.agent.tools import Tool
from clawbus.schemas import AgentRequest, TurnStatus, parse_agent_response
from tests.agent.conftest import invocation
from tests.helpers import eventually, free_port


@pytest.mark.parametrize(
    ("name", "args", "line"),
    [
        ("web_fetch", {"url": "https://example.com/a?b=c"}, "🔎 fetching example.com"),
        ("write", {"path": "notes.md", "content": "secret plans"}, "📝 writing notes.md"),
        ("read", {"path": "MEMORY.md"}, "📖 reading MEMORY.md"),
        ("browser", {"action": "snapshot"}, "🌐 browsing"),
        ("exec_custom", {"command": "rm -rf /"}, "🛠️ running exec_custom"),
    ],
)
def test_a_tool_call_becomes_a_short_line_without_its_private_arguments(
    name: str, args: dict[str, Any], line: str
) -> None:
    assert tool_line(name, args) == line


def _events(body: str) -> list[dict[str, Any]]:
    return [json.loads(line[5:]) for line in body.splitlines() if line.startswith("data:")]


async def test_a_streamed_turn_sends_a_first_event_then_each_tool_line_then_the_answer(make_agent) -> None:  # type: ignore[no-untyped-def]
    model = ScriptedModel(
        [
            assistant("Noting that.", ToolCall("w1", "write", {"path": "notes.md", "content": "tea"})),
            assistant("Noted in notes.md."),
        ]
    )
    agent = make_agent(model)
    request = AgentRequest.model_validate_json(invocation("remember tea")).model_copy(update={"stream": True})
    response = await agent.client.post("/invocations", content=request.to_wire())

    assert response.headers["content-type"].startswith("text/event-stream")
    events = _events(response.text)
    assert events[:2] == [{"progress": ""}, {"progress": "📝 writing notes.md"}]
    assert events[2] == {"text": "Noted in notes.md."}
    assert parse_agent_response(json.dumps(events[3])).status is TurnStatus.OK
    assert (await agent.store.read("notes.md")).text == "tea"  # type: ignore[union-attr]


async def test_a_streamed_turn_that_fails_reports_the_error_in_the_stream(make_agent) -> None:  # type: ignore[no-untyped-def]
    agent = make_agent(ScriptedModel([ValueError("boom")]))
    request = AgentRequest.model_validate_json(invocation("hi")).model_copy(update={"stream": True})
    response = await agent.client.post("/invocations", content=request.to_wire())

    events = _events(response.text)
    assert events[0] == {"progress": ""}
    final = parse_agent_response(json.dumps(events[-1]))
    assert final.status is TurnStatus.ERROR
    assert final.error is not None
    assert final.error.retryable  # unclassified: redrive decides, as for an unstreamed turn


async def test_a_tool_line_reaches_the_caller_while_the_tool_still_runs(make_agent) -> None:  # type: ignore[no-untyped-def]
    release = asyncio.Event()

    async def web_fetch(_args: Mapping[str, Any]) -> str:
        await release.wait()  # a slow page
        return "Example Domain"

    spec = ToolSpec(
        "web_fetch", "Fetch a page.", {"type": "object", "properties": {"url": {"type": "string"}}}
    )
    model = ScriptedModel(
        [
            assistant("", ToolCall("f1", "web_fetch", {"url": "https://example.com/"})),
            assistant("It says Example Domain."),
        ]
    )
    agent = make_agent(model, [Tool(spec, web_fetch)])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(agent.client._transport.app, host="127.0.0.1", port=port))
    serving = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: asyncio.sleep(0, server.started), what="the agent app")
        request = AgentRequest.model_validate_json(invocation("read example.com")).model_copy(
            update={"stream": True}
        )
        seen: list[dict[str, Any]] = []
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client,
            client.stream("POST", "/invocations", content=request.to_wire()) as response,
        ):
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    seen.append(json.loads(line[5:]))
                if {"progress": "🔎 fetching example.com"} in seen and not release.is_set():
                    release.set()  # only now may the tool (and the turn) finish
        assert seen[:2] == [{"progress": ""}, {"progress": "🔎 fetching example.com"}]
        assert seen[2] == {"text": "It says Example Domain."}
    finally:
        server.should_exit = True
        await serving
