"""A stand-in for Discord's gateway, on loopback, that discord.py's own client connects to.

What discord.py's `Client.start` asks of Discord, answered as Discord does (discord.com/developers/docs/
events/gateway):

- REST, under the API base (`rest_routes()`, mounted by `FakePlatforms(discord_gateway=…)` beside the
  egress routes, since one `CLAWBUS_DISCORD__API_BASE` serves both): `GET /users/@me` (the bot; 401 for
  another token), `GET /oauth2/applications/@me`, and `GET /gateway/bot`, whose `url` is this server's
  `ws://` address.
- The WebSocket: HELLO (op 10) on connect; IDENTIFY (op 2) with the bot token is answered with the
  READY dispatch (a session id and `resume_gateway_url`), another token closes with 4004 (authentication
  failed); each heartbeat (op 1) gets its ACK (op 11). Frames are sent as text, which discord.py reads
  without its zlib/zstd stream (only binary frames are compressed).

A test pushes `MESSAGE_CREATE` dispatches with `send_message(data)` (Discord's message object) and waits
for `identified`. aiohttp serves the socket on its own event loop in a background thread; use it as a
context manager.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from aiohttp import WSMsgType, web
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.loop_thread import LoopThreadServer

BOT_TOKEN = "discord-gateway-bot-token"
BOT = {
    "id": "900000000000000001",
    "username": "claw",
    "global_name": None,
    "discriminator": "0",
    "bot": True,
    "avatar": None,
}
ANN = {  # a user (the application's owner here)
    "id": "900000000000000042",
    "username": "ann",
    "global_name": "Ann",
    "discriminator": "0",
    "avatar": None,
}
APPLICATION_ID = "900000000000000009"
HEARTBEAT_INTERVAL_MS = 41_250  # what Discord sends in HELLO
AUTHENTICATION_FAILED = 4004


class FakeDiscordGateway(LoopThreadServer):
    """The gateway stand-in (see module)."""

    def __init__(self) -> None:
        super().__init__()
        self.url = f"ws://127.0.0.1:{self.port}/"
        self.identified = 0  # IDENTIFYs answered with READY
        self.intents: list[int] = []  # the intents of each IDENTIFY
        self._sequence = itertools.count(1)

    # -- what a test calls (from its own thread) ------------------------------------------------------

    def send_message(self, data: dict[str, Any]) -> None:
        """Dispatch `MESSAGE_CREATE` with `data` on the newest identified connection."""
        self._call(self._dispatch("MESSAGE_CREATE", data))

    def rest_routes(self, prefix: str) -> list[Route]:
        """The REST calls discord.py makes before it connects, under the API base path `prefix`."""
        return [
            Route(f"{prefix}/users/@me", self._me, methods=["GET"]),
            Route(f"{prefix}/oauth2/applications/@me", self._application, methods=["GET"]),
            Route(f"{prefix}/gateway/bot", self._gateway_bot, methods=["GET"]),
        ]

    # -- REST (served by the FakePlatforms app) --------------------------------------------------------

    @staticmethod
    def _authorised(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bot {BOT_TOKEN}"

    async def _me(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({"message": "401: Unauthorized", "code": 0}, status_code=401)
        return JSONResponse(BOT)

    async def _application(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({"message": "401: Unauthorized", "code": 0}, status_code=401)
        return JSONResponse(
            {
                "id": APPLICATION_ID,
                "name": "claw",
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": ANN,
                "verify_key": "00" * 32,
                "flags": 1 << 19,  # GATEWAY_MESSAGE_CONTENT_LIMITED: the intent is granted
            }
        )

    async def _gateway_bot(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({"message": "401: Unauthorized", "code": 0}, status_code=401)
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return JSONResponse({"url": self.url, "shards": 1, "session_start_limit": limit})

    # -- the WebSocket (its own loop) ------------------------------------------------------------------

    def _routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/", self._socket)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}}))
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(message.data)
                if frame.get("op") == 1:
                    await ws.send_str(json.dumps({"op": 11}))
                elif frame.get("op") == 2:
                    await self._identify(ws, frame.get("d") or {})
        finally:
            if ws in self._sockets:
                self._sockets.remove(ws)
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        if data.get("token") != BOT_TOKEN:
            await ws.close(code=AUTHENTICATION_FAILED, message=b"Authentication failed.")
            return
        self.intents.append(int(data.get("intents") or 0))
        ready = {
            "v": 10,
            "user": BOT,
            "guilds": [],
            "session_id": f"session-{self.identified + 1}",
            "resume_gateway_url": self.url,
            "application": {"id": APPLICATION_ID, "flags": 1 << 19},
        }
        self._sockets.append(ws)
        await self._send(ws, "READY", ready)
        self.identified += 1

    async def _dispatch(self, event: str, data: dict[str, Any]) -> None:
        if not self._sockets:
            raise RuntimeError("no identified gateway connection (wait for `identified` first)")
        await self._send(self._sockets[-1], event, data)

    async def _send(self, ws: web.WebSocketResponse, event: str, data: dict[str, Any]) -> None:
        await ws.send_str(json.dumps({"op": 0, "t": event, "s": next(self._sequence), "d": data}))
