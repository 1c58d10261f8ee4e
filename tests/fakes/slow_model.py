"""A fake OpenAI-compatible model on loopback that takes as long as the user asks: a turn to time.

`POST /v1/chat/completions` answers `model: <last user message>` at once, or, when that message holds
`sleep:<seconds>`, after that long (cut short when the caller hangs up, as a real server would notice),
or, when it holds `hold:<name>`, once the test calls `release(name)` (a turn that runs exactly as long
as the test needs, without timing).
`calls` lists the last user message of every request received, so a test can wait until a turn's
model call is under way instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.helpers import eventually, free_port

_SLEEP = re.compile(r"sleep:(\d+(?:\.\d+)?)")
_HOLD = re.compile(r"hold:(\w+)")


@dataclass
class SlowModel:
    """The running fake: its base URL (for `CLAWBUS_AGENT__OPENAI__BASE_URL`) and what it was asked."""

    base_url: str
    calls: list[str] = field(default_factory=list)
    holds: dict[str, asyncio.Event] = field(default_factory=dict)

    def release(self, name: str) -> None:
        """Let the model calls held by `hold:<name>` answer."""
        self.holds.setdefault(name, asyncio.Event()).set()

    def agent_env(self) -> dict[str, str]:
        """The agent's settings that make it answer with this model."""
        return {"CLAWBUS_AGENT__MODEL": "openai/slow", "CLAWBUS_AGENT__OPENAI__BASE_URL": self.base_url}


def _last_user_text(body: dict[str, object]) -> str:
    messages = body.get("messages")
    users = (
        [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        if isinstance(messages, list)
        else []
    )
    content = users[-1].get("content") if users else ""
    return content if isinstance(content, str) else ""


@contextlib.asynccontextmanager
async def slow_model() -> AsyncIterator[SlowModel]:
    """Serve the fake model for the block."""
    port = free_port()
    model = SlowModel(f"http://127.0.0.1:{port}/v1")

    async def complete(request: Request) -> Response:
        text = _last_user_text(await request.json())
        model.calls.append(text)
        asked = _SLEEP.search(text)
        if asked:
            await asyncio.sleep(float(asked.group(1)))
        held = _HOLD.search(text)
        if held:
            await model.holds.setdefault(held.group(1), asyncio.Event()).wait()
        return JSONResponse(
            {
                "choices": [
                    {"message": {"role": "assistant", "content": f"model: {text}"}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1},
            }
        )

    app = Starlette(routes=[Route("/v1/chat/completions", complete, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    serving = asyncio.create_task(server.serve())
    await eventually(lambda: asyncio.sleep(0, server.started), what="fake slow model")
    try:
        yield model
    finally:
        server.should_exit = True
        server.force_exit = True
        await serving
