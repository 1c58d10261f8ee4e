"""Bedrock (Converse via botocore, endpoint_url) and OpenAI-compatible providers against local endpoints
that speak their wire formats: a tool-use round trip through the agent app, throttling, failover."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clawbus.agent.models import FailoverModel
from clawbus.agent.runtime import _model
from clawbus.bus.errors import Throttled, Unavailable
from clawbus.bus.settings import Settings
from tests.helpers import eventually, free_port


@dataclass
class FakeModelServer:
    """Answers Converse (`POST /model/{id}/converse`) and chat completions from queued replies."""

    replies: list[tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    seen: list[tuple[str, dict[str, Any], dict[str, str]]] = field(default_factory=list)

    async def answer(self, request: Request) -> Response:
        self.seen.append((request.url.path, json.loads(await request.body()), dict(request.headers)))
        status, body, headers = self.replies.pop(0)
        return JSONResponse(body, status_code=status, headers=headers)


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeModelServer, str]]:
    server = FakeModelServer()
    app = Starlette(
        routes=[
            Route("/model/{model_id:path}/converse", server.answer, methods=["POST"]),
            Route("/v1/chat/completions", server.answer, methods=["POST"]),
        ]
    )
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(uv.serve())

    async def started() -> bool:
        return uv.started

    await eventually(started, what="fake model endpoint")
    yield server, f"http://127.0.0.1:{port}"
    uv.should_exit = True
    await task


def converse_text(text: str) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 10, "outputTokens": 3, "totalTokens": 13},
        "metrics": {"latencyMs": 5},
    }


def converse_tool_use() -> dict[str, Any]:
    use = {"toolUseId": "tu-1", "name": "write", "input": {"path": "USER.md", "content": "Name: Ada"}}
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": "Saving."}, {"toolUse": use}]}},
        "stopReason": "tool_use",
        "usage": {"inputTokens": 10, "outputTokens": 3, "totalTokens": 13},
        "metrics": {"latencyMs": 5},
    }


THROTTLED = (429, {"message": "Too many requests"}, {"x-amzn-ErrorType": "ThrottlingException"})


async def open_models(url: str, *names: str) -> tuple[FailoverModel, Any]:
    settings = Settings(
        agent={  # type: ignore[arg-type]
            "bedrock": {"endpoint_url": url},
            "openai": {"base_url": f"{url}/v1", "api_key": "sk-test-key"},
        }
    )
    stack = contextlib.AsyncExitStack()
    await stack.__aenter__()
    shared: dict[str, Any] = {}
    models = [await _model(name, settings, stack, shared) for name in names]
    return FailoverModel(models), stack


async def test_bedrock_tool_use_round_trip_through_the_agent(fake, make_agent) -> None:  # type: ignore[no-untyped-def]
    server, url = fake
    server.replies += [(200, converse_tool_use(), {}), (200, converse_text("Hello Ada."), {})]
    model, stack = await open_models(url, "bedrock/anthropic.claude-test")
    async with stack:
        agent = make_agent(model)
        await agent.store.write("SOUL.md", "Be brief.")
        reply = await agent.turn("my name is Ada")
    assert (reply.parts, reply.model) == (("Hello Ada.",), "bedrock/anthropic.claude-test")
    stored = await agent.store.read("USER.md")
    assert stored is not None
    assert stored.text == "Name: Ada"
    first, second = server.seen[0][1], server.seen[1][1]
    assert server.seen[0][0] == "/model/anthropic.claude-test/converse"
    assert "Be brief." in first["system"][0]["text"]
    assert [t["toolSpec"]["name"] for t in first["toolConfig"]["tools"]][:2] == ["read", "write"]
    result = second["messages"][-1]["content"][0]["toolResult"]
    assert (result["toolUseId"], result["status"]) == ("tu-1", "success")
    assert second["messages"][-2]["content"][1]["toolUse"]["name"] == "write"


async def test_bedrock_throttling_fails_over_to_an_openai_compatible_model(fake, make_agent) -> None:  # type: ignore[no-untyped-def]
    server, url = fake
    chat = {"choices": [{"message": {"role": "assistant", "content": "from gpt"}, "finish_reason": "stop"}]}
    server.replies += [THROTTLED, (200, chat, {})]
    model, stack = await open_models(url, "bedrock/primary", "openai/gpt-test")
    async with stack:
        reply = await make_agent(model).turn("hi")
    assert (reply.parts, reply.model) == (("from gpt",), "openai/gpt-test")
    path, body, headers = server.seen[1]
    assert path == "/v1/chat/completions"
    assert body["model"] == "gpt-test"
    assert headers["authorization"] == "Bearer sk-test-key"
    assert body["messages"][0]["role"] == "system"


async def test_openai_tool_calls_map_to_the_loop(fake, make_agent) -> None:  # type: ignore[no-untyped-def]
    server, url = fake
    call = {"id": "c1", "type": "function", "function": {"name": "read", "arguments": '{"path": "SOUL.md"}'}}
    server.replies += [
        (200, {"choices": [{"message": {"role": "assistant", "content": None, "tool_calls": [call]}}]}, {}),
        (200, {"choices": [{"message": {"role": "assistant", "content": "You are calm."}}]}, {}),
    ]
    model, stack = await open_models(url, "openai/gpt-test")
    async with stack:
        agent = make_agent(model)
        await agent.store.write("SOUL.md", "calm")
        reply = await agent.turn("who am I")
    assert reply.parts == ("You are calm.",)
    tool_message = server.seen[1][1]["messages"][-1]
    assert tool_message == {"role": "tool", "tool_call_id": "c1", "content": "calm"}


async def test_provider_errors_are_classified(fake) -> None:  # type: ignore[no-untyped-def]
    server, url = fake
    server.replies += [
        THROTTLED,
        (503, {"message": "down"}, {"x-amzn-ErrorType": "ServiceUnavailableException"}),
        (429, {"error": "slow down"}, {"retry-after": "7"}),
    ]
    model, stack = await open_models(url, "bedrock/a", "bedrock/b", "openai/c")
    async with stack:
        with pytest.raises(Throttled) as caught:
            await model.converse("", [], [])
    assert caught.value.retry_after == 7.0
    assert [path for path, _b, _h in server.seen] == [
        "/model/a/converse",
        "/model/b/converse",
        "/v1/chat/completions",
    ]


async def test_a_5xx_alone_is_unavailable(fake) -> None:  # type: ignore[no-untyped-def]
    server, url = fake
    server.replies.append((500, {"message": "boom"}, {"x-amzn-ErrorType": "InternalServerException"}))
    model, stack = await open_models(url, "bedrock/a")
    async with stack:
        with pytest.raises(Unavailable, match="Converse a"):
            await model.converse("", [], [])
