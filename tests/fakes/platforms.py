"""A fake of the four chat platforms' outbound HTTP APIs, on loopback, for egress tests.

One Starlette app answers, under a path prefix per platform, the calls the senders make:

| platform | API base to configure | routes |
|---|---|---|
| telegram | `<url>/telegram` | `POST /bot<token>/getMe`, `/sendMessage`, `/sendChatAction`, `/getUpdates`… |
| slack | `<url>/slack/api/` | `POST /chat.postMessage`, `/assistant.threads.setStatus` |
| discord | `<url>/discord/api/v10` | `POST /channels/<id>/messages`, `…/typing`, `/webhooks/<app>/<token>` |
| whatsapp | `<url>/whatsapp` | `POST /v<version>/<phone id>/messages` (text, and the typing indicator) |

Every call is recorded (`calls`). A test cues failures with `fail_next(platform, status, body, headers,
times)`: the next `times` *send* calls on that platform get that answer instead (and are recorded with
it); `after` lets that many sends through first; `match` limits a cue to sends whose JSON body contains
that text. `slow_next(platform, seconds, times)` answers sends as usual, late. Runs uvicorn in a
background thread; use it as a context manager.

Telegram long polling: `push_update(update)` queues an update; `getUpdates` answers what is queued at or
above its `offset` (dropping what is below, as Telegram confirms it) and otherwise waits up to its
`timeout`. `fail_polls(status, times)` answers the next polls with an error, `drop_polls(times)` starts
a 200 answer and cuts the connection mid-body. `set_webhook(url)` makes getUpdates a 409 until
`deleteWebhook`. `polls` records each poll's offset.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.helpers import free_port, wait_for


@dataclass
class Call:
    """One request the fake received."""

    platform: str
    method: str  # sendMessage, chat.postMessage, messages, typing, followup, ...
    body: dict[str, Any]
    status: int
    refused: bool = False  # answered with a cued failure (Slack's failures are HTTP 200 `ok: false`)
    at: float = field(default_factory=time.monotonic)

    @property
    def text(self) -> str:
        """The message text the call carried ("" for calls without one)."""
        body = self.body
        if self.platform == "whatsapp":
            return str((body.get("text") or {}).get("body", ""))
        return str(body.get("text") or body.get("content") or "")


@dataclass
class _Cue:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    times: int
    after: int = 0
    refuse: bool = True  # False: answer as usual, only adding `headers`
    match: str | None = None  # only sends whose JSON body contains this
    delay_s: float = 0.0  # answer this late

    def applies(self, body: dict[str, Any]) -> bool:
        return self.match is None or self.match in json.dumps(body, ensure_ascii=False)


_DISCORD = "/discord/api/v10"
_SENDS = {"sendMessage", "chat.postMessage", "messages", "followup"}


class FakePlatforms:
    """The fake server; `url` is its base."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.calls: list[Call] = []
        self._cues: dict[str, list[_Cue]] = {}
        self._ids = itertools.count(1000)
        self._lock = threading.Lock()
        self.updates: list[dict[str, Any]] = []  # Telegram updates not yet confirmed by an offset
        self.polls: list[int | None] = []  # the offset of every getUpdates call
        self.webhook_url = ""
        self._poll_cues: list[_Cue] = []  # status 0 drops the connection
        self._server = uvicorn.Server(
            uvicorn.Config(self._app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def api_base(self, platform: str) -> str:
        """What to set as `CLAWBUS_<PLATFORM>__API_BASE`."""
        return {
            "telegram": f"{self.url}/telegram",
            "slack": f"{self.url}/slack/api/",
            "discord": f"{self.url}/discord/api/v10",
            "whatsapp": f"{self.url}/whatsapp",
        }[platform]

    def fail_next(
        self,
        platform: str,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
        times: int = 1,
        after: int = 0,
        match: str | None = None,
    ) -> None:
        """Answer `times` send calls on `platform` (whose body contains `match`, if given), after
        letting `after` through, with this answer."""
        cue = _Cue(status, body, headers or {}, times, after, match=match)
        with self._lock:
            self._cues.setdefault(platform, []).append(cue)

    def slow_next(self, platform: str, seconds: float, times: int = 1) -> None:
        """Answer the next `times` send calls on `platform` as usual, `seconds` late."""
        with self._lock:
            self._cues.setdefault(platform, []).append(
                _Cue(200, {}, {}, times, refuse=False, delay_s=seconds)
            )

    def clear_failures(self) -> None:
        """Answer every send normally again (cues not yet used are dropped)."""
        with self._lock:
            self._cues.clear()

    def add_headers_next(self, platform: str, headers: dict[str, str], times: int = 1) -> None:
        """Accept the next `times` send calls on `platform` as usual, adding these response headers."""
        with self._lock:
            self._cues.setdefault(platform, []).append(_Cue(200, {}, headers, times, refuse=False))

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue a Telegram update for getUpdates."""
        with self._lock:
            self.updates.append(update)

    def fail_polls(self, status: int, times: int = 1, after: int = 0) -> None:
        """Answer `times` getUpdates calls, after letting `after` through, with HTTP `status`."""
        with self._lock:
            self._poll_cues.append(_Cue(status, {}, {}, times, after))

    def drop_polls(self, times: int = 1) -> None:
        """Cut the connection of the next `times` getUpdates calls after the answer started."""
        self.fail_polls(0, times)

    def clear_poll_failures(self) -> None:
        """Answer getUpdates normally again."""
        with self._lock:
            self._poll_cues.clear()

    def set_webhook(self, url: str) -> None:
        """Pretend a webhook is set: getUpdates is refused with 409 until deleteWebhook."""
        with self._lock:
            self.webhook_url = url

    def sent(self, platform: str) -> list[Call]:
        """The send calls the platform accepted, in arrival order."""
        with self._lock:
            return [c for c in self.calls if c.platform == platform and c.method in _SENDS and not c.refused]

    def attempts(self, platform: str) -> list[Call]:
        """Every send call, accepted or not."""
        with self._lock:
            return [c for c in self.calls if c.platform == platform and c.method in _SENDS]

    def __enter__(self) -> FakePlatforms:
        self._thread.start()
        wait_for(lambda: self._server.started, timeout=10, what="fake platform server")
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)

    # -- the app -----------------------------------------------------------------------------------

    def _record(self, platform: str, method: str, body: dict[str, Any]) -> _Cue | None:
        with self._lock:
            cue = None
            queue = self._cues.get(platform, [])
            first = next((c for c in queue if c.applies(body)), None) if method in _SENDS else None
            if first is not None:
                if first.after > 0:
                    first.after -= 1
                else:
                    cue = first
                    cue.times -= 1
                    if cue.times <= 0:
                        queue.remove(cue)
            refused = cue is not None and cue.refuse
            self.calls.append(Call(platform, method, body, cue.status if cue else 200, refused))
            return cue

    async def _answer(self, platform: str, method: str, body: dict[str, Any], ok: Any) -> Response:
        cue = self._record(platform, method, body)
        if cue is not None and cue.delay_s:
            await asyncio.sleep(cue.delay_s)
        if cue is not None and cue.refuse:
            return JSONResponse(cue.body, status_code=cue.status, headers=cue.headers)
        headers = cue.headers if cue is not None else {}
        if ok is None:
            return Response(status_code=204, headers=headers)
        return JSONResponse(ok, headers=headers)

    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/telegram/bot{token}/{method}", self._telegram, methods=["POST", "GET"]),
                Route("/slack/api/{method}", self._slack, methods=["POST"]),
                Route(f"{_DISCORD}/channels/{{channel}}/messages", self._discord_message, methods=["POST"]),
                Route(f"{_DISCORD}/channels/{{channel}}/typing", self._discord_typing, methods=["POST"]),
                Route(f"{_DISCORD}/webhooks/{{app}}/{{token}}", self._discord_followup, methods=["POST"]),
                Route("/whatsapp/{version}/{phone}/messages", self._whatsapp, methods=["POST"]),
            ]
        )

    async def _telegram(self, request: Request) -> Response:
        method = request.path_params["method"]
        body = await _body(request)
        if method == "getMe":
            bot_id = request.path_params["token"].split(":", 1)[0]
            user = {
                "id": int(bot_id) if bot_id.isdigit() else 1,
                "is_bot": True,
                "first_name": "Fake",
                "username": "fake_bot",
            }
            return JSONResponse({"ok": True, "result": user})
        if method in ("getUpdates", "getWebhookInfo", "deleteWebhook"):
            return await self._telegram_polling(method, body)
        if method == "sendChatAction":
            return await self._answer("telegram", method, body, {"ok": True, "result": True})
        message = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": {"id": int(body.get("chat_id", 0)), "type": "private"},
            "text": body.get("text", ""),
        }
        return await self._answer("telegram", method, body, {"ok": True, "result": message})

    async def _telegram_polling(self, method: str, body: dict[str, Any]) -> Response:
        if method == "getWebhookInfo":
            info = {"url": self.webhook_url, "has_custom_certificate": False, "pending_update_count": 0}
            return JSONResponse({"ok": True, "result": info})
        if method == "deleteWebhook":
            with self._lock:
                self.webhook_url = ""
            return JSONResponse({"ok": True, "result": True})
        offset = int(body["offset"]) if body.get("offset") is not None else None
        with self._lock:
            self.polls.append(offset)
            cue = self._poll_cues[0] if self._poll_cues else None
            if cue is not None and cue.after > 0:
                cue.after -= 1
                cue = None
            elif cue is not None:
                cue.times -= 1
                if cue.times <= 0:
                    self._poll_cues.pop(0)
            conflict = bool(self.webhook_url)
        if conflict:
            error = {
                "ok": False,
                "error_code": 409,
                "description": "Conflict: can't use getUpdates method "
                "while webhook is active; use deleteWebhook to delete the webhook first",
            }
            return JSONResponse(error, status_code=409)
        if cue is not None and cue.status == 0:
            return StreamingResponse(_cut_off(), media_type="application/json")
        if cue is not None:
            error = {"ok": False, "error_code": cue.status, "description": "Bad Gateway"}
            return JSONResponse(error, status_code=cue.status)
        deadline = time.monotonic() + float(body.get("timeout") or 0)
        while True:
            with self._lock:
                if offset is not None:
                    self.updates = [u for u in self.updates if u["update_id"] >= offset]
                ready = self.updates[: int(body.get("limit") or 100)]
            if ready or time.monotonic() >= deadline:
                return JSONResponse({"ok": True, "result": ready})
            await asyncio.sleep(0.02)  # a fake long poll; Telegram holds the request the same way

    async def _slack(self, request: Request) -> Response:
        method = request.path_params["method"]
        body = await _body(request)
        ok = {"ok": True, "channel": body.get("channel"), "ts": f"1700000000.{next(self._ids):06d}"}
        return await self._answer("slack", method, body, ok)

    async def _discord_message(self, request: Request) -> Response:
        body = await _body(request)
        body["channel"] = request.path_params["channel"]
        return await self._answer("discord", "messages", body, {"id": str(next(self._ids)), **body})

    async def _discord_typing(self, request: Request) -> Response:
        return await self._answer("discord", "typing", {"channel": request.path_params["channel"]}, None)

    async def _discord_followup(self, request: Request) -> Response:
        body = await _body(request)
        body["token"] = request.path_params["token"]
        return await self._answer("discord", "followup", body, {"id": str(next(self._ids)), **body})

    async def _whatsapp(self, request: Request) -> Response:
        body = await _body(request)
        if body.get("status") == "read":
            return await self._answer("whatsapp", "typing", body, {"success": True})
        to = str(body.get("to", ""))
        ok = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}],
            "messages": [{"id": f"wamid.{next(self._ids)}"}],
        }
        return await self._answer("whatsapp", "messages", body, ok)


async def _cut_off() -> Any:
    """A body that starts and then breaks off: the client sees the connection drop mid-answer."""
    yield b'{"ok": true, "result": [{"update_id": '
    raise ConnectionResetError("fake platform drops the connection")


async def _body(request: Request) -> dict[str, Any]:
    raw = (await request.body()).decode()
    if not raw:
        return {}
    if request.headers.get("content-type", "").startswith("application/json"):
        parsed: dict[str, Any] = json.loads(raw)
        return parsed
    return dict(parse_qsl(raw))
