"""A fake of the four chat platforms' outbound HTTP APIs, on loopback, for egress tests.

One Starlette app answers, under a path prefix per platform, the calls the senders make:

| platform | API base to configure | routes |
|---|---|---|
| telegram | `<url>/telegram` | `POST /bot<token>/getMe`, `/sendMessage`, `/sendChatAction`, `/getUpdates`… |
| slack | `<url>/slack/api/` | `POST /chat.postMessage`, `/assistant.threads.setStatus`, `conversations.*` |
| discord | `<url>/discord/api/v10` | `POST /channels/<id>/messages`, `…/typing`, `/webhooks/<app>/<token>` |
| whatsapp | `<url>/whatsapp` | `POST /v<version>/<phone id>/messages` (text, and the typing indicator) |

Every call is recorded (`calls`). A test cues failures with `fail_next(platform, status, body, headers,
times)`: the next `times` *send* calls on that platform get that answer instead (and are recorded with
it); `after` lets that many sends through first; `match` limits a cue to sends whose JSON body contains
that text. `slow_next(platform, seconds, times)` answers sends as usual, late. Runs uvicorn in a
background thread; use it as a context manager.

What the platforms keep, as far as egress relies on it: Slack stores each posted message (ts, thread,
`metadata`) and answers `conversations.history` (top-level messages, newest first, `oldest`/`inclusive`,
metadata only with `include_all_metadata`, cursor pages of `limit`) and `conversations.replies` (one
thread); Discord enforces `nonce` with `enforce_nonce` on channel messages (a repeat from the bot within
`DISCORD_NONCE_WINDOW_S` answers the existing message and creates none) and ignores nonces on
interaction follow-ups (Execute Webhook takes none). `shown(platform)` is what the user sees: the
messages the sends created. `hold_next(platform)` accepts the next send (the message exists) and then
holds its answer until `release_held()`: the 200 that never reaches a worker killed meanwhile.

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

from tests.fakes.platform_files import PlatformFiles
from tests.helpers import free_port, wait_for


@dataclass
class Call:
    """One request the fake received."""

    platform: str
    method: str  # sendMessage, chat.postMessage, messages, typing, followup, ...
    body: dict[str, Any]
    status: int
    refused: bool = False  # answered with a cued failure (Slack's failures are HTTP 200 `ok: false`)
    created: bool = True  # False: an accepted send that created no message (a Discord nonce repeat)
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
    hold: bool = False  # accept, then hold the answer until `release_held`

    def applies(self, body: dict[str, Any]) -> bool:
        return self.match is None or self.match in json.dumps(body, ensure_ascii=False)


_DISCORD = "/discord/api/v10"
_SENDS = {"sendMessage", "chat.postMessage", "messages", "followup"}
DISCORD_NONCE_WINDOW_S = 300.0  # Discord: "the past few minutes"


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
        self.slack_messages: dict[str, list[dict[str, Any]]] = {}  # channel → messages, oldest first
        self._discord_nonces: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        self._released = threading.Event()
        self.files = PlatformFiles(self.url)  # inbound media the platforms hold (issue 20)
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

    def hold_next(self, platform: str, times: int = 1) -> None:
        """Accept the next `times` sends on `platform`, then hold each answer until `release_held`."""
        with self._lock:
            self._released.clear()
            self._cues.setdefault(platform, []).append(_Cue(200, {}, {}, times, refuse=False, hold=True))

    def release_held(self) -> None:
        """Let every held answer go (to a connection that may be gone)."""
        self._released.set()

    def shown(self, platform: str) -> list[Call]:
        """What the user sees: the accepted sends that created a message, in arrival order."""
        with self._lock:
            return [
                c
                for c in self.calls
                if c.platform == platform and c.method in _SENDS and not c.refused and c.created
            ]

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
        self._released.set()
        self._server.should_exit = True
        self._thread.join(timeout=5)

    # -- the app -----------------------------------------------------------------------------------

    def _record(
        self, platform: str, method: str, body: dict[str, Any], *, created: bool = True
    ) -> _Cue | None:
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
            self.calls.append(Call(platform, method, body, cue.status if cue else 200, refused, created))
            return cue

    async def _answer(
        self,
        platform: str,
        method: str,
        body: dict[str, Any],
        ok: Any,
        *,
        created: bool = True,
        keep: Any = None,
    ) -> Response:
        """Record the call and answer it; `keep(ok)` stores what an accepted send created."""
        cue = self._record(platform, method, body, created=created)
        if keep is not None and not (cue is not None and cue.refuse):
            with self._lock:
                keep(ok)
        if cue is not None and cue.delay_s:
            await asyncio.sleep(cue.delay_s)
        if cue is not None and cue.hold:
            while not self._released.is_set():  # the message exists; its 200 waits
                await asyncio.sleep(0.02)
        if cue is not None and cue.refuse:
            return JSONResponse(cue.body, status_code=cue.status, headers=cue.headers)
        headers = cue.headers if cue is not None else {}
        if ok is None:
            return Response(status_code=204, headers=headers)
        return JSONResponse(ok, headers=headers)

    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                *self.files.routes(),
                Route("/telegram/bot{token}/{method}", self._telegram, methods=["POST", "GET"]),
                Route("/slack/api/{method}", self._slack, methods=["POST", "GET"]),
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
        if method == "getFile":
            return self.files.telegram_get_file(body)
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
        body = {**dict(request.query_params), **await _body(request)}
        if method in ("conversations.history", "conversations.replies"):
            return JSONResponse(self._slack_read(method, body))
        ts = f"{time.time():.6f}"
        while any(m["ts"] == ts for m in self.slack_messages.get(str(body.get("channel")), [])):
            ts = f"{float(ts) + 0.000001:.6f}"
        ok = {"ok": True, "channel": body.get("channel"), "ts": ts}
        if method != "chat.postMessage":
            return await self._answer("slack", method, body, ok)
        message = {"type": "message", "text": body.get("text", ""), "ts": ts, "bot_id": "BFAKE"}
        if body.get("thread_ts"):
            message["thread_ts"] = body["thread_ts"]
        metadata = body.get("metadata")
        if isinstance(metadata, str):  # form-encoded calls send it as JSON text
            metadata = json.loads(metadata)
        if metadata:
            message["metadata"] = metadata

        def keep(_ok: Any) -> None:
            self.slack_messages.setdefault(str(body.get("channel")), []).append(message)

        return await self._answer("slack", method, body, {**ok, "message": message}, keep=keep)

    def _slack_read(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        """`conversations.history`/`.replies` over what was posted (Slack's own filters and paging)."""
        with self._lock:
            stored = list(self.slack_messages.get(str(args.get("channel")), []))
        if method == "conversations.history":  # top-level messages only, newest first
            found = [m for m in stored if m.get("thread_ts") in (None, m["ts"])][::-1]
        else:  # the thread, parent first
            found = [m for m in stored if args.get("ts") in (m["ts"], m.get("thread_ts"))]
        oldest = float(args.get("oldest") or 0)
        inclusive = str(args.get("inclusive", "")).lower() in ("1", "true")
        found = [m for m in found if float(m["ts"]) > oldest or (inclusive and float(m["ts"]) == oldest)]
        if str(args.get("include_all_metadata", "")).lower() not in ("1", "true"):
            found = [{k: v for k, v in m.items() if k != "metadata"} for m in found]
        start = int(args.get("cursor") or 0)
        limit = int(args.get("limit") or 100)
        page, more = found[start : start + limit], start + limit < len(found)
        with self._lock:
            self.calls.append(Call("slack", method, dict(args), 200))
        return {
            "ok": True,
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    async def _discord_message(self, request: Request) -> Response:
        body = await _body(request)
        body["channel"] = request.path_params["channel"]
        nonce = str(body.get("nonce") or "")
        with self._lock:
            earlier = self._discord_nonces.get((body["channel"], nonce)) if nonce else None
        if body.get("enforce_nonce") and earlier and time.monotonic() - earlier[0] < DISCORD_NONCE_WINDOW_S:
            return await self._answer("discord", "messages", body, earlier[1], created=False)
        message = {"id": str(next(self._ids)), **body}

        def keep(ok: Any) -> None:
            if nonce:
                self._discord_nonces[(body["channel"], nonce)] = (time.monotonic(), ok)

        return await self._answer("discord", "messages", body, message, keep=keep)

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
