"""A fake of Slack's Socket Mode, on loopback: `apps.connections.open` and the WebSocket it hands out.

As Slack does: `POST <url>/api/apps.connections.open` (with the app-level token as bearer) answers a
`ws://` URL; a connection gets `{"type": "hello"}`, then every envelope not yet acknowledged. An envelope
counts as delivered only when the client sends `{"envelope_id": …}` back; one still unacknowledged when
a connection ends is sent again on the next connection with `retry_attempt` + 1. The test pushes
events (`send_event`), ends connections the way Slack does (`send_disconnect`, a `disconnect` message)
or abruptly (`drop_connections`, the TCP connection cut without a close frame), and reads `acks` and
`opens`. aiohttp serves it on its own event loop in a background thread; use it as a context manager.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.loop_thread import LoopThreadServer

APP_TOKEN = "xapp-1-A0APP-1-fake"


class FakeSocketMode(LoopThreadServer):
    """The fake; set `api_base` as `CLAWBUS_SLACK__API_BASE`."""

    def __init__(self) -> None:
        super().__init__()
        self.api_base = f"http://127.0.0.1:{self.port}/api/"
        self.opens = 0  # apps.connections.open calls
        self.connections = 0  # WebSockets accepted
        self.acks: list[str] = []
        self.refuse_with: str | None = None  # e.g. "invalid_auth"
        self._pending: dict[str, dict[str, Any]] = {}  # envelope id -> envelope, unacknowledged
        self._ids = itertools.count(1)

    # -- what a test calls (from its own thread) ------------------------------------------------------

    def send_event(self, body: dict[str, Any]) -> str:
        """Deliver an Events API body as an `events_api` envelope; its envelope id."""
        envelope_id = f"env-{next(self._ids)}"
        envelope = {
            "envelope_id": envelope_id,
            "type": "events_api",
            "payload": body,
            "accepts_response_payload": False,
            "retry_attempt": 0,
            "retry_reason": "",
        }
        self._call(self._deliver(envelope))
        return envelope_id

    def send_envelope(self, kind: str, payload: dict[str, Any]) -> str:
        """Deliver another kind of envelope (`slash_commands`, `interactive`)."""
        envelope_id = f"env-{next(self._ids)}"
        self._call(self._deliver({"envelope_id": envelope_id, "type": kind, "payload": payload}))
        return envelope_id

    def send_disconnect(self, reason: str = "refresh_requested") -> None:
        """Tell the client to reconnect, as Slack does every few hours."""
        self._call(self._broadcast({"type": "disconnect", "reason": reason}))

    def drop_connections(self) -> None:
        """Cut every open connection without a close frame."""
        self._call(self._drop())

    def unacked(self) -> list[str]:
        """Envelope ids delivered but not acknowledged."""
        return list(self._pending)

    # -- the server (its own loop) --------------------------------------------------------------------

    def _routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/api/apps.connections.open", self._open)
        router.add_get("/link", self._socket)

    async def _open(self, request: web.Request) -> web.Response:
        self.opens += 1
        if request.headers.get("Authorization") != f"Bearer {APP_TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if self.refuse_with:
            return web.json_response({"ok": False, "error": self.refuse_with})
        return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{self.port}/link?n={self.opens}"})

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        hello = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0APP"}}
        await ws.send_json(hello)
        self._sockets.append(ws)
        for envelope in list(self._pending.values()):  # redeliver what was never acknowledged
            envelope["retry_attempt"] = int(envelope.get("retry_attempt") or 0) + 1
            envelope["retry_reason"] = "timeout"
            await ws.send_json(envelope)
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    envelope_id = json.loads(message.data).get("envelope_id")
                    if envelope_id in self._pending:
                        del self._pending[envelope_id]
                        self.acks.append(envelope_id)
        finally:
            if ws in self._sockets:
                self._sockets.remove(ws)
        return ws

    async def _deliver(self, envelope: dict[str, Any]) -> None:
        self._pending[envelope["envelope_id"]] = envelope
        if self._sockets:
            await self._sockets[-1].send_json(envelope)

    async def _broadcast(self, message: dict[str, Any]) -> None:
        for ws in list(self._sockets):
            await ws.send_json(message)

    async def _drop(self) -> None:
        for ws in list(self._sockets):
            self._sockets.remove(ws)
            transport = ws._req.transport if ws._req is not None else None
            if transport is not None:
                transport.abort()
