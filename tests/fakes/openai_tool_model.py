"""A loopback OpenAI-compatible model that calls one tool when told to: for tests of OpenClaw plugins.

A user message `/tool <name> <json args>` makes it answer with that tool call; once the tool's result
is in the context it answers `tool <name> said: <result>`; anything else is echoed back. OpenClaw adds
an internal-context user message after the real one (`<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>`) and
prefixes the real one with a timestamp: both are skipped. Streams (SSE) when asked to, as OpenClaw does.

Run: `python -m tests.fakes.openai_tool_model <port>` (prints `ready <port>` once it listens).
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

TOOL_COMMAND = re.compile(r"/tool\s+(\S+)\s+(?=\{)")
INTERNAL = "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>"
TOOLS_SEEN: list[str] = []  # the tools offered in the last request (`GET /tools` answers them)
PROMPT_SEEN: list[str] = []  # the last request's messages' text, system prompt included (`GET /prompt`)


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content or "")


def answer(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The assistant message for `messages`: a tool call, a tool result's report, or an echo."""
    real = [
        i for i, m in enumerate(messages) if m.get("role") == "user" and INTERNAL not in _text(m["content"])
    ]
    asked = real[-1] if real else -1
    said = _text(messages[asked].get("content")) if real else ""
    results = [m for m in messages[asked + 1 :] if m.get("role") == "tool"]
    if results:  # the tool ran for this message: report what it said
        calls = [m for m in messages[asked + 1 :] if m.get("role") == "assistant" and m.get("tool_calls")]
        name = calls[-1]["tool_calls"][0]["function"]["name"] if calls else "?"
        return {"role": "assistant", "content": f"tool {name} said: {_text(results[-1].get('content'))}"}
    command = TOOL_COMMAND.search(said)
    if command is None:
        return {"role": "assistant", "content": f"echo: {said.strip()}"}
    # What follows the JSON (OpenClaw's `Runtime:` line) is left out.
    args, _ = json.JSONDecoder().raw_decode(said, command.end())
    call = {
        "id": f"call_{int(time.time() * 1000)}",
        "type": "function",
        "function": {"name": command.group(1), "arguments": json.dumps(args)},
    }
    return {"role": "assistant", "content": None, "tool_calls": [call]}


def _chunks(model: str, message: dict[str, Any]) -> list[dict[str, Any]]:
    delta: dict[str, Any] = {"role": "assistant"}
    if message.get("tool_calls"):
        delta["tool_calls"] = [{"index": 0, **message["tool_calls"][0]}]
        finish = "tool_calls"
    else:
        delta["content"] = message["content"]
        finish = "stop"
    base = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }
    return [
        {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]},
        {**base, "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}},
    ]


async def completions(request: Request) -> Response:
    body = await request.json()
    TOOLS_SEEN[:] = [str(t.get("function", {}).get("name")) for t in body.get("tools") or []]
    PROMPT_SEEN[:] = [_text(m.get("content")) for m in body.get("messages", [])]
    message = answer(body.get("messages", []))
    model = str(body.get("model", "fake"))
    if body.get("stream"):

        async def events() -> AsyncIterator[bytes]:
            for chunk in _chunks(model, message):
                yield f"data: {json.dumps(chunk)}\n\n".encode()
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")
    finish = "tool_calls" if message.get("tool_calls") else "stop"
    return JSONResponse(
        {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
    )


async def models(_: Request) -> Response:
    return JSONResponse({"object": "list", "data": [{"id": "fake", "object": "model"}]})


async def tools(_: Request) -> Response:
    return JSONResponse(TOOLS_SEEN)


async def prompt(_: Request) -> Response:
    return JSONResponse(PROMPT_SEEN)


app = Starlette(
    routes=[
        Route("/prompt", prompt, methods=["GET"]),
        Route("/tools", tools, methods=["GET"]),
        Route("/v1/chat/completions", completions, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
    ]
)

if __name__ == "__main__":
    port = int(sys.argv[1])
    print(f"ready {port}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
