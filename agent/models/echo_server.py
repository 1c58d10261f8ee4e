"""The offline echo model as an OpenAI-compatible endpoint, for an engine that calls models over HTTP.

OpenClaw's `openai-completions` provider sends `POST /v1/chat/completions` with `stream: true` and reads
server-sent `chat.completion.chunk` events ending in `data: [DONE]`; a plain JSON `chat.completion` is
answered when `stream` is false. The reply is `echo.echo_reply(engine, <user messages' texts>)`, so the
OpenClaw engine's echo says `openclaw` and counts the user turns OpenClaw kept in its context.
With `tool_syntax` (`CLAWBUS_AGENT__DEV_TOOL_SYNTAX`, a test device, off by default for the reason
`offline.OfflineEcho` gives) it drives tools as the native echo does: the last user message `/<tool> {json}`
naming a tool the request offers becomes that tool call, and once the tool's result follows that message
the result is the answer, verbatim. Under OpenClaw's Tool Search a plugin tool is reached through
`/tool_call {"id": "<tool>", "args": {…}}`. Given a `seen` list, every request body is appended to it: what
a test reads to see what the model was offered (tools, system prompt).
`serve_echo` runs it on a loopback port inside the caller's event loop for the life of a block.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from clawbus.agent.models.echo import INTERNAL_CONTEXT_MARK, echo_reply, own_text, tool_command
from clawbus.bus.serve import bearer_ok, serve_inside

MODEL_ID = "echo"


def content_text(content: Any) -> str:
    """A chat message's `content` as text: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


def _offered(body: dict[str, Any]) -> set[str]:
    tools = body.get("tools") or []
    return {
        str(t["function"].get("name"))
        for t in tools
        if isinstance(t, dict) and isinstance(t.get("function"), dict)
    }


def answer(engine: str, body: dict[str, Any], *, tool_syntax: bool = False) -> dict[str, Any]:
    """The echo's assistant message for a chat-completions request body: text, or (with `tool_syntax`)
    one tool call."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    texts = [content_text(m.get("content")) for m in messages if m.get("role") == "user"]
    if tool_syntax:
        real = [
            i
            for i, m in enumerate(messages)
            if m.get("role") == "user"
            and not content_text(m.get("content")).lstrip().startswith(INTERNAL_CONTEXT_MARK)
        ]
        asked = real[-1] if real else -1
        results = [m for m in messages[asked + 1 :] if m.get("role") == "tool"]
        if results:  # the tool ran for the last message: its result is the answer
            return {"role": "assistant", "content": content_text(results[-1].get("content"))}
        command = tool_command(own_text(content_text(messages[asked].get("content")))) if real else None
        if command is not None and command[0] in _offered(body):
            call = {
                "id": f"call_echo_{len(messages)}",
                "type": "function",
                "function": {"name": command[0], "arguments": json.dumps(command[1])},
            }
            return {"role": "assistant", "content": None, "tool_calls": [call]}
    return {"role": "assistant", "content": echo_reply(engine, texts)}


def reply_for(engine: str, body: dict[str, Any]) -> str:
    """The echo's text answer to a chat-completions request body (no tool syntax)."""
    return str(answer(engine, body)["content"])


def _chunk(created: int, delta: dict[str, Any], finish: str | None) -> str:
    chunk = {
        "id": f"chatcmpl-echo-{created}",
        "object": "chat.completion.chunk",
        "created": created,
        "model": MODEL_ID,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(chunk)}\n\n"


async def _stream(message: dict[str, Any], created: int) -> AsyncIterator[str]:
    if message.get("tool_calls"):
        calls = [{"index": i, **c} for i, c in enumerate(message["tool_calls"])]
        yield _chunk(created, {"role": "assistant", "tool_calls": calls}, None)
        yield _chunk(created, {}, "tool_calls")
    else:
        yield _chunk(created, {"role": "assistant", "content": message["content"]}, None)
        yield _chunk(created, {}, "stop")
    yield "data: [DONE]\n\n"


def echo_app(
    engine: str,
    *,
    tool_syntax: bool = False,
    seen: list[dict[str, Any]] | None = None,
    api_key: str | None = None,
) -> Starlette:
    """The ASGI app: `POST /v1/chat/completions` (JSON or SSE) and `GET /v1/models`."""

    async def completions(request: Request) -> Response:
        if api_key is not None and not bearer_ok(request, api_key):
            return JSONResponse({"error": {"message": "missing or wrong API key"}}, status_code=401)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"error": {"message": "body is not JSON"}}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"error": {"message": "body is not an object"}}, status_code=400)
        if seen is not None:
            seen.append(body)
        message = answer(engine, body, tool_syntax=tool_syntax)
        created = int(time.time())
        if body.get("stream"):
            return StreamingResponse(_stream(message, created), media_type="text/event-stream")
        return JSONResponse(
            {
                "id": f"chatcmpl-echo-{created}",
                "object": "chat.completion",
                "created": created,
                "model": MODEL_ID,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                    }
                ],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            }
        )

    async def models(_request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": MODEL_ID, "object": "model"}]})

    return Starlette(
        routes=[
            Route("/v1/chat/completions", completions, methods=["POST"]),
            Route("/v1/models", models),
        ]
    )


@contextlib.asynccontextmanager
async def serve_echo(
    engine: str,
    host: str = "127.0.0.1",
    *,
    tool_syntax: bool = False,
    seen: list[dict[str, Any]] | None = None,
    api_key: str | None = None,
) -> AsyncIterator[str]:
    """Serve the echo on a free loopback port for the life of the block; yields its `/v1` base URL.
    With `api_key` (as the engine runs it) a request without `Authorization: Bearer <api_key>` is 401."""
    app = echo_app(engine, tool_syntax=tool_syntax, seen=seen, api_key=api_key)
    async with serve_inside(app, host) as port:
        yield f"http://{host}:{port}/v1"
