"""The offline echo model as an OpenAI-compatible endpoint, for an engine that calls models over HTTP.

OpenClaw's `openai-completions` provider sends `POST /v1/chat/completions` with `stream: true` and reads
server-sent `chat.completion.chunk` events ending in `data: [DONE]`; a plain JSON `chat.completion` is
answered when `stream` is false. The reply is `echo.echo_reply(engine, <user messages' texts>)`, so the
OpenClaw engine's echo says `openclaw` and counts the user turns OpenClaw kept in its context.
`serve_echo` runs it on a loopback port inside the caller's event loop for the life of a block.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .echo import echo_reply

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


def reply_for(engine: str, body: dict[str, Any]) -> str:
    """The echo's answer to a chat-completions request body."""
    messages = body.get("messages") or []
    texts = [
        content_text(m.get("content")) for m in messages if isinstance(m, dict) and m.get("role") == "user"
    ]
    return echo_reply(engine, texts)


def _chunk(created: int, delta: dict[str, Any], finish: str | None) -> str:
    chunk = {
        "id": f"chatcmpl-echo-{created}",
        "object": "chat.completion.chunk",
        "created": created,
        "model": MODEL_ID,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(chunk)}\n\n"


async def _stream(text: str, created: int) -> AsyncIterator[str]:
    yield _chunk(created, {"role": "assistant", "content": text}, None)
    yield _chunk(created, {}, "stop")
    yield "data: [DONE]\n\n"


def echo_app(engine: str) -> Starlette:
    """The ASGI app: `POST /v1/chat/completions` (JSON or SSE) and `GET /v1/models`."""

    async def completions(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"error": {"message": "body is not JSON"}}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"error": {"message": "body is not an object"}}, status_code=400)
        text = reply_for(engine, body)
        created = int(time.time())
        if body.get("stream"):
            return StreamingResponse(_stream(text, created), media_type="text/event-stream")
        return JSONResponse(
            {
                "id": f"chatcmpl-echo-{created}",
                "object": "chat.completion",
                "created": created,
                "model": MODEL_ID,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
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


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the agent app owns the signals
        yield


@contextlib.asynccontextmanager
async def serve_echo(engine: str, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve the echo on a free loopback port for the life of the block; yields its `/v1` base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(128)  # connections queue from here on: no need to wait for the server to start
    port = sock.getsockname()[1]
    server = _QuietServer(
        uvicorn.Config(echo_app(engine), host=host, port=port, log_config=None, access_log=False)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://{host}:{port}/v1"
    finally:
        server.should_exit = True
        await task
        sock.close()
