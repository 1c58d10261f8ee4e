"""A fake of the four chat platforms' outbound HTTP APIs, on loopback, for egress tests.

One Starlette app answers, under a path prefix per platform, the calls the senders make:

| platform | API base to configure | routes |
|---|---|---|
| telegram | `<url>/telegram` | `POST /bot<token>/getMe`, `/sendMessage`, `/sendChatAction`, `/getUpdates`… |
| slack | `<url>/slack/api/` | `POST /chat.postMessage`, `/assistant.threads.setStatus`, `conversations.*` |
| discord | `<url>/discord/api/v10` | `POST /channels/<id>/messages`, `…/typing`, `/webhooks/<app>/<token>` |
| whatsapp | `<url>/whatsapp` | `POST /v<version>/<phone id>/messages` (text, and the typing indicator) |

Files (media out): Telegram's `sendPhoto`/`sendDocument`/`sendVoice`/`sendAudio`/`sendVideo` (multipart),
Slack's upload v2 (`files.getUploadURLExternal`, the upload URL it hands out, then
`files.completeUploadExternal`, the send that shows the files), Discord's multipart message
(`payload_json` + `files[n]`) and WhatsApp's `POST /<phone id>/media` (an id) then a `messages` call
naming that id. Each send records what the user got in `Call.files` (`Upload`: field, filename, content
type, the bytes); `uploads(platform)` lists them in order.

Discord's gateway: with `FakePlatforms(discord_gateway=FakeDiscordGateway())` the Discord API also answers
what discord.py asks before it connects (`tests/fakes/discord_gateway.py`).

Every call is recorded (`calls`). A test cues failures with `fail_next(platform, status, body, headers,
times)`: the next `times` *send* calls on that platform get that answer instead (and are recorded with
it); `after` lets that many sends through first; `match` limits a cue to sends whose JSON body contains
that text. `slow_next(platform, seconds, times)` answers sends as usual, late; `slow_next_read` does the
same to Slack's `conversations.history`/`.replies` (what egress asks after a timeout). Runs uvicorn in a
background thread; use it as a context manager.

Edits (progress drafts): Telegram `editMessageText`, Slack `chat.update` and Discord's `PATCH` of a message
(in its channel or through the interaction's webhook, recorded as `edit`) change the text of a message a
send created (`Call.text` is then the latest text, as the user sees it; `edits(platform)` lists the edit
calls), `deleteMessage`, `chat.delete` and Discord's `DELETE` (`delete`) remove it from `shown`; an
unknown message id is refused as the platform does, and Telegram refuses an edit to the same text
("message is not modified"). Cues apply to edits and deletes as to sends.

What the platforms keep, as far as egress relies on it: Slack stores each posted message (ts, thread,
`metadata`) and answers `conversations.history` (top-level messages, newest first, `oldest`/`inclusive`,
metadata only with `include_all_metadata`, cursor pages of `limit`) and `conversations.replies` (one
thread); Discord enforces `nonce` with `enforce_nonce` on channel messages (a repeat from the bot within
`DISCORD_NONCE_WINDOW_S` answers the existing message and creates none) and ignores nonces on
interaction follow-ups (Execute Webhook takes none); the edit of an interaction's deferred placeholder
(`original`) shows one message however often it is made; a follow-up or edit to an interaction the test marked
`expire_interaction(token)` (never acknowledged within 3 s, or older than 15 minutes) gets Discord's
404 Unknown Webhook. `shown(platform)` is what the user sees: the
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
import dataclasses
import email.policy
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.discord_gateway import FakeDiscordGateway
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
    files: tuple[Upload, ...] = ()  # the files the send carried (or, on Slack/WhatsApp, named)
    edited: str | None = None  # the latest text an edit gave the message this send created
    deleted: bool = False  # the message this send created was deleted

    @property
    def text(self) -> str:
        """The message's text as the user sees it now: the latest edit, else what the call carried ("" for
        calls without one)."""
        if self.edited is not None:
            return self.edited
        body = self.body
        if self.platform == "whatsapp":
            kind = str(body.get("type") or "text")
            return str((body.get(kind) or {}).get("body" if kind == "text" else "caption", ""))
        found = body.get("text") or body.get("content") or body.get("caption") or body.get("initial_comment")
        return str(found or "")


@dataclass(frozen=True)
class Upload:
    """One file a platform received: the form field it came in, its name, content type and bytes."""

    field: str
    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        """Its size in bytes."""
        return len(self.data)


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
_TELEGRAM_FILES = {"sendPhoto", "sendDocument", "sendVoice", "sendAudio", "sendVideo"}
_SENDS = {
    "sendMessage",
    "chat.postMessage",
    "messages",
    "followup",
    "original",
    "files.completeUploadExternal",
}
_SENDS |= _TELEGRAM_FILES
_EDITS = {"editMessageText", "chat.update", "edit"}  # `edit`: Discord's PATCH of a message
_DELETES = {"deleteMessage", "chat.delete", "delete"}
DISCORD_NONCE_WINDOW_S = 300.0  # Discord: "the past few minutes"


class FakePlatforms:
    """The fake server; `url` is its base."""

    def __init__(self, discord_gateway: FakeDiscordGateway | None = None) -> None:
        self.port = free_port()
        self._discord_gateway = discord_gateway
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
        self._expired_interactions: set[str] = set()
        self._originals: dict[str, dict[str, Any]] = {}  # interaction token → its edited placeholder
        self._created: dict[tuple[str, str], Call] = {}  # (platform, message id) -> the send that made it
        self._released = threading.Event()
        self._read_delays: list[float] = []  # Slack's history reads, answered this late, in turn
        self._stored_files: dict[str, Upload] = {}  # Slack file ids and WhatsApp media ids → the bytes
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

    def slow_next_read(self, seconds: float, times: int = 1) -> None:
        """Answer the next `times` Slack `conversations.history`/`.replies` calls `seconds` late."""
        with self._lock:
            self._read_delays.extend([seconds] * times)

    def hold_next(self, platform: str, times: int = 1) -> None:
        """Accept the next `times` sends on `platform`, then hold each answer until `release_held`."""
        with self._lock:
            self._released.clear()
            self._cues.setdefault(platform, []).append(_Cue(200, {}, {}, times, refuse=False, hold=True))

    def release_held(self) -> None:
        """Let every held answer go (to a connection that may be gone)."""
        self._released.set()

    def expire_interaction(self, token: str) -> None:
        """Make the interaction with `token` unusable, as Discord does when its 3 s ack did not come."""
        with self._lock:
            self._expired_interactions.add(token)

    def shown(self, platform: str) -> list[Call]:
        """What the user sees: the accepted sends that created a message, in arrival order."""
        with self._lock:
            return [
                c
                for c in self.calls
                if c.platform == platform
                and c.method in _SENDS
                and not c.refused
                and c.created
                and not c.deleted
            ]

    def edits(self, platform: str) -> list[Call]:
        """The edit calls on `platform` (accepted or not), in arrival order."""
        with self._lock:
            return [c for c in self.calls if c.platform == platform and c.method in _EDITS]

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

    def uploads(self, platform: str) -> list[Upload]:
        """The files the user got on `platform` (accepted sends that created a message), in order."""
        return [upload for call in self.shown(platform) for upload in call.files]

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
        self,
        platform: str,
        method: str,
        body: dict[str, Any],
        *,
        created: bool = True,
        files: tuple[Upload, ...] = (),
    ) -> _Cue | None:
        with self._lock:
            cue = None
            queue = self._cues.get(platform, [])
            cueable = method in _SENDS or method in _EDITS or method in _DELETES
            first = next((c for c in queue if c.applies(body)), None) if cueable else None
            if first is not None:
                if first.after > 0:
                    first.after -= 1
                else:
                    cue = first
                    cue.times -= 1
                    if cue.times <= 0:
                        queue.remove(cue)
            refused = cue is not None and cue.refuse
            status = cue.status if cue else 200
            self.calls.append(Call(platform, method, body, status, refused, created, files=files))
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
        files: tuple[Upload, ...] = (),
    ) -> Response:
        """Record the call and answer it; `keep(ok)` stores what an accepted send created."""
        cue = self._record(platform, method, body, created=created, files=files)
        if not (cue is not None and cue.refuse):
            with self._lock:
                if keep is not None:
                    keep(ok)
                made = _made_id(platform, ok) if method in _SENDS and created else None
                if made is not None:
                    self._created[(platform, made)] = self.calls[-1]
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
                *(self._discord_gateway.rest_routes(_DISCORD) if self._discord_gateway else ()),
                Route("/telegram/bot{token}/{method}", self._telegram, methods=["POST", "GET"]),
                Route("/slack/api/{method}", self._slack, methods=["POST", "GET"]),
                Route(f"{_DISCORD}/channels/{{channel}}/messages", self._discord_message, methods=["POST"]),
                Route(f"{_DISCORD}/channels/{{channel}}/typing", self._discord_typing, methods=["POST"]),
                Route(f"{_DISCORD}/webhooks/{{app}}/{{token}}", self._discord_followup, methods=["POST"]),
                Route(
                    f"{_DISCORD}/webhooks/{{app}}/{{token}}/messages/@original",
                    self._discord_original,
                    methods=["PATCH"],
                ),
                Route(
                    f"{_DISCORD}/webhooks/{{app}}/{{token}}/messages/{{message}}",
                    self._discord_edit,
                    methods=["PATCH", "DELETE"],
                ),
                Route(
                    f"{_DISCORD}/channels/{{channel}}/messages/{{message}}",
                    self._discord_edit,
                    methods=["PATCH", "DELETE"],
                ),
                Route("/whatsapp/{version}/{phone}/messages", self._whatsapp, methods=["POST"]),
                Route("/whatsapp/{version}/{phone}/media", self._whatsapp_media, methods=["POST"]),
                Route("/slack/upload/{file_id}", self._slack_upload, methods=["POST"]),
            ]
        )

    async def _telegram(self, request: Request) -> Response:
        method = request.path_params["method"]
        body, files = await _form(request)
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
        if method == "editMessageText":
            return await self._telegram_edit(body)
        if method == "deleteMessage":
            return await self._delete("telegram", method, body, str(body.get("message_id")))
        message = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": {"id": int(body.get("chat_id", 0)), "type": "private"},
            "text": body.get("text", ""),
        }
        if method in _TELEGRAM_FILES:  # answered as a document message: PTB reads any of them back
            message.pop("text")
            message["caption"] = body.get("caption", "")
            message["document"] = {"file_id": f"F{message['message_id']}", "file_unique_id": "u"}
        return await self._answer("telegram", method, body, {"ok": True, "result": message}, files=files)

    async def _telegram_edit(self, body: dict[str, Any]) -> Response:
        """`editMessageText`: the message's new text, or Telegram's 400s (unknown message, same text)."""
        with self._lock:
            made = self._created.get(("telegram", str(body.get("message_id"))))
        text = str(body.get("text", ""))
        problem = None
        if made is None:
            problem = "Bad Request: message to edit not found"
        elif made.text == text:
            problem = "Bad Request: message is not modified: specified new message content and reply "
            problem += "markup are exactly the same as a current content and reply markup of the message"
        if problem is not None:
            with self._lock:
                self.calls.append(Call("telegram", "editMessageText", body, 400, refused=True))
            return JSONResponse({"ok": False, "error_code": 400, "description": problem}, status_code=400)
        message = {
            "message_id": int(body["message_id"]),
            "date": int(time.time()),
            "edit_date": int(time.time()),
            "chat": {"id": int(body.get("chat_id", 0)), "type": "private"},
            "text": text,
        }
        return await self._answer(
            "telegram",
            "editMessageText",
            body,
            {"ok": True, "result": message},
            keep=self._edit_keeper("telegram", str(body["message_id"]), text),
        )

    async def _delete(self, platform: str, method: str, body: dict[str, Any], message_id: str) -> Response:
        """Telegram `deleteMessage` / Slack `chat.delete`: the message is gone (unknown ids refused)."""
        with self._lock:
            made = self._created.get((platform, message_id))
            if made is None or made.deleted:
                self.calls.append(Call(platform, method, body, 400 if platform == "telegram" else 200, True))
        if made is None or made.deleted:
            if platform == "telegram":
                error = {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: message to delete not found",
                }
                return JSONResponse(error, status_code=400)
            return JSONResponse({"ok": False, "error": "message_not_found"})

        def keep(_ok: Any) -> None:
            made.deleted = True

        ok: Any = {"ok": True, "result": True} if platform == "telegram" else {"ok": True, "ts": message_id}
        return await self._answer(platform, method, body, ok, keep=keep)

    def _edit_keeper(self, platform: str, message_id: str, text: str) -> Any:
        def keep(_ok: Any) -> None:
            made = self._created.get((platform, message_id))
            if made is not None:
                made.edited = text
            for stored in self.slack_messages.values() if platform == "slack" else ():
                for message in stored:
                    if message["ts"] == message_id:
                        message["text"] = text

        return keep

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
            with self._lock:
                delay = self._read_delays.pop(0) if self._read_delays else 0.0
            await asyncio.sleep(delay)
            return JSONResponse(self._slack_read(method, body))
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ids)}"
            with self._lock:
                self.calls.append(Call("slack", method, body, 200))
            url = f"{self.url}/slack/upload/{file_id}"
            return JSONResponse({"ok": True, "upload_url": url, "file_id": file_id})
        if method == "files.completeUploadExternal":
            return await self._slack_complete(body)
        ts = f"{time.time():.6f}"
        while any(m["ts"] == ts for m in self.slack_messages.get(str(body.get("channel")), [])):
            ts = f"{float(ts) + 0.000001:.6f}"
        ok = {"ok": True, "channel": body.get("channel"), "ts": ts}
        if method == "chat.update":
            return await self._slack_update(body)
        if method == "chat.delete":
            return await self._delete("slack", method, body, str(body.get("ts")))
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

    async def _slack_upload(self, request: Request) -> Response:
        """The upload URL `files.getUploadURLExternal` handed out: the bytes (raw, or a form's file)."""
        content_type = request.headers.get("content-type", "")
        fields: dict[str, Any] = {}
        if content_type.startswith("multipart/form-data"):
            fields, files = await _form(request)
            raw = files[0]
        else:
            raw = Upload("file", "", content_type, await request.body())
        with self._lock:
            self._stored_files[request.path_params["file_id"]] = raw
            self.calls.append(Call("slack", "upload", fields, 200, files=(raw,)))
        return Response(f"OK - {raw.size}", media_type="text/plain")

    async def _slack_complete(self, body: dict[str, Any]) -> Response:
        """Share the uploaded files in the channel: one message (with the initial comment) per call."""
        listed = body.get("files")
        entries = json.loads(listed) if isinstance(listed, str) else (listed or [])
        with self._lock:
            files = tuple(
                dataclasses.replace(self._stored_files[e["id"]], filename=e.get("title") or e["id"])
                for e in entries
                if e.get("id") in self._stored_files
            )
        ts = f"{time.time():.6f}"
        message = {"type": "message", "text": body.get("initial_comment", ""), "ts": ts, "bot_id": "BFAKE"}
        if body.get("thread_ts"):
            message["thread_ts"] = body["thread_ts"]
        shared = [{"id": e["id"], "title": e.get("title", ""), "shares": {}} for e in entries]

        def keep(_ok: Any) -> None:
            self.slack_messages.setdefault(str(body.get("channel_id")), []).append(message)

        ok = {"ok": True, "files": shared}
        return await self._answer("slack", "files.completeUploadExternal", body, ok, keep=keep, files=files)

    async def _slack_update(self, body: dict[str, Any]) -> Response:
        """`chat.update`: the message's new text, or Slack's `message_not_found` (HTTP 200, `ok: false`)."""
        ts, text = str(body.get("ts", "")), str(body.get("text", ""))
        with self._lock:
            known = ("slack", ts) in self._created
        if not known:
            with self._lock:
                self.calls.append(Call("slack", "chat.update", body, 200, refused=True))
            return JSONResponse({"ok": False, "error": "message_not_found"})
        ok = {"ok": True, "channel": body.get("channel"), "ts": ts, "text": text}
        return await self._answer("slack", "chat.update", body, ok, keep=self._edit_keeper("slack", ts, text))

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
        body, files = await _form(request)
        if "payload_json" in body:  # a multipart message: the JSON payload beside `files[n]`
            body = {**json.loads(body.pop("payload_json")), **body}
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

        return await self._answer("discord", "messages", body, message, keep=keep, files=files)

    async def _discord_typing(self, request: Request) -> Response:
        return await self._answer("discord", "typing", {"channel": request.path_params["channel"]}, None)

    async def _discord_followup(self, request: Request) -> Response:
        body, files = await _form(request)
        if "payload_json" in body:
            body = {**json.loads(body.pop("payload_json")), **body}
        body["token"] = request.path_params["token"]
        with self._lock:
            expired = body["token"] in self._expired_interactions
        if expired:
            self.calls.append(Call("discord", "followup", body, 404, refused=True, created=False))
            return JSONResponse({"message": "Unknown Webhook", "code": 10015}, status_code=404)
        ok = {"id": str(next(self._ids)), **body}
        return await self._answer("discord", "followup", body, ok, files=files)

    async def _discord_original(self, request: Request) -> Response:
        body = await _body(request)
        token = body["token"] = request.path_params["token"]
        with self._lock:
            expired = token in self._expired_interactions
            earlier = self._originals.get(token)
        if expired:
            self.calls.append(Call("discord", "original", body, 404, refused=True, created=False))
            return JSONResponse({"message": "Unknown Webhook", "code": 10015}, status_code=404)
        message = {"id": earlier["id"] if earlier else str(next(self._ids)), **body}

        def keep(ok: Any) -> None:
            self._originals[token] = ok
            shown = self._created.get(("discord", str(ok["id"]))) if earlier else None
            if shown is not None:  # the placeholder edited again: the user sees the latest text
                shown.edited = str(body.get("content", ""))

        return await self._answer("discord", "original", body, message, created=earlier is None, keep=keep)

    async def _discord_edit(self, request: Request) -> Response:
        """Edit (PATCH) or delete (DELETE) a message a send created, in its channel or through the
        interaction's webhook; Discord's 404 Unknown Message for an id it does not have (or deleted)."""
        message_id = request.path_params["message"]
        body = await _body(request) if request.method == "PATCH" else {}
        body["message_id"] = message_id
        method = "edit" if request.method == "PATCH" else "delete"
        token = request.path_params.get("token")
        with self._lock:
            made = self._created.get(("discord", message_id))
            expired = token is not None and token in self._expired_interactions
        if expired or made is None or made.deleted:
            gone = {"message": "Unknown Webhook", "code": 10015} if expired else None
            gone = gone or {"message": "Unknown Message", "code": 10008}
            with self._lock:
                self.calls.append(Call("discord", method, body, 404, refused=True, created=False))
            return JSONResponse(gone, status_code=404)
        if method == "delete":

            def deleted(_ok: Any) -> None:
                made.deleted = True

            return await self._answer("discord", method, body, None, keep=deleted)
        text = str(body.get("content", ""))
        ok = {"id": message_id, "channel_id": made.body.get("channel"), "content": text}
        return await self._answer(
            "discord", method, body, ok, keep=self._edit_keeper("discord", message_id, text)
        )

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
        media_id = str((body.get(str(body.get("type"))) or {}).get("id", ""))
        with self._lock:
            files = (self._stored_files[media_id],) if media_id in self._stored_files else ()
        return await self._answer("whatsapp", "messages", body, ok, files=files)

    async def _whatsapp_media(self, request: Request) -> Response:
        """`POST /<phone id>/media`: a multipart upload; answers the media id a message then names."""
        fields, files = await _form(request)
        media_id = str(next(self._ids))
        with self._lock:
            if files:
                self._stored_files[media_id] = files[0]
            self.calls.append(Call("whatsapp", "media", fields, 200, files=files))
        return JSONResponse({"id": media_id})


def _made_id(platform: str, ok: Any) -> str | None:
    """The id of the message an accepted send created, as later edits name it."""
    if not isinstance(ok, dict):
        return None
    if platform == "telegram":
        return str((ok.get("result") or {}).get("message_id"))
    if platform == "slack":
        return str(ok.get("ts"))
    if platform == "discord":
        return str(ok.get("id"))
    return None


async def _cut_off() -> Any:
    """A body that starts and then breaks off: the client sees the connection drop mid-answer."""
    yield b'{"ok": true, "result": [{"update_id": '
    raise ConnectionResetError("fake platform drops the connection")


async def _form(request: Request) -> tuple[dict[str, Any], tuple[Upload, ...]]:
    """A request's fields and files: multipart/form-data parsed with the standard library's MIME parser
    (the fake needs no form library), anything else as `_body`."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return await _body(request), ()
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + await request.body())
    fields: dict[str, Any] = {}
    files: list[Upload] = []
    for part in message.iter_parts():
        name = str(part.get_param("name", header="content-disposition") or "")
        data = part.get_payload(decode=True)
        data = data if isinstance(data, bytes) else b""
        filename = part.get_filename()
        if filename is None:
            fields[name] = data.decode()
        else:
            files.append(Upload(name, filename, part.get_content_type(), data))
    return fields, tuple(files)


async def _body(request: Request) -> dict[str, Any]:
    raw = (await request.body()).decode()
    if not raw:
        return {}
    if request.headers.get("content-type", "").startswith("application/json"):
        parsed: dict[str, Any] = json.loads(raw)
        return parsed
    return dict(parse_qsl(raw))
