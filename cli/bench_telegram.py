"""A Telegram Bot API stand-in for `clawbus bench`: it records when each message a bot sends appears and
when it changes, which is what a Telegram user sees.

It answers, on loopback, the calls egress makes (`getMe`, `sendMessage`, `editMessageText`,
`deleteMessage`, `sendChatAction`) as the Bot API does, and keeps every `sendMessage`/`editMessageText`
as a `Shown` (chat, text, monotonic time). `first_visible` and `answered` read them back. Runs uvicorn in
a background thread; use it as a context manager. Not a test fake: it refuses nothing, it only records.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from clawbus.bus.serve import free_loopback_port


@dataclass(frozen=True)
class Shown:
    """A message the user saw appear (`sendMessage`) or change (`editMessageText`), and when."""

    chat_id: str
    text: str
    at: float
    edit: bool


class TelegramStandIn:
    """The stand-in; `api_base` is what to set as `CLAWBUS_TELEGRAM__API_BASE`."""

    def __init__(self) -> None:
        port = free_loopback_port()
        self.api_base = f"http://127.0.0.1:{port}"
        self.shown: list[Shown] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        app = Starlette(routes=[Route("/bot{token}/{method}", self._call, methods=["POST", "GET"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> TelegramStandIn:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the Telegram stand-in did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)

    def first_visible(self, chat_id: str, since: float) -> Shown | None:
        """The first message that appeared in `chat_id` at or after `since` (a draft, or the answer)."""
        with self._lock:
            return next(
                (s for s in self.shown if s.chat_id == chat_id and s.at >= since and not s.edit), None
            )

    def answered(self, chat_id: str, since: float, marker: str) -> Shown | None:
        """When `chat_id` first showed a text containing `marker` (sent, or edited into a draft)."""
        with self._lock:
            return next(
                (s for s in self.shown if s.chat_id == chat_id and s.at >= since and marker in s.text), None
            )

    async def _call(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        raw = (await request.body()).decode()
        if request.headers.get("content-type", "").startswith("application/json"):
            body: dict[str, Any] = json.loads(raw or "{}")
        else:
            body = dict(parse_qsl(raw))
        if method == "getMe":
            bot = {"id": 1, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}
            return JSONResponse({"ok": True, "result": bot})
        if method not in ("sendMessage", "editMessageText"):
            return JSONResponse({"ok": True, "result": True})  # sendChatAction, deleteMessage, …
        chat, text = str(body.get("chat_id", "")), str(body.get("text", ""))
        edit = method == "editMessageText"
        with self._lock:
            self.shown.append(Shown(chat, text, time.monotonic(), edit))
        message_id = int(body["message_id"]) if edit else next(self._ids)
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": int(chat) if chat.lstrip("-").isdigit() else 0, "type": "private"},
            "text": text,
        }
        return JSONResponse({"ok": True, "result": message})
