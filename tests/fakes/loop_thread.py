"""A WebSocket stand-in (aiohttp) whose own event loop runs in a background thread, so a synchronous test
can start it, call into it and stop it (the Slack Socket Mode and Discord gateway stand-ins)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, Self

from aiohttp import web

from tests.helpers import free_port


class LoopThreadServer:
    """Subclasses add their routes in `_routes`; `with server:` serves them on `self.port` meanwhile, and
    stopping closes the WebSockets they keep in `self._sockets`."""

    def __init__(self) -> None:
        self.port = free_port()
        self._sockets: list[web.WebSocketResponse] = []
        self._runner: web.AppRunner | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def _routes(self, router: web.UrlDispatcher) -> None:
        raise NotImplementedError

    async def _start(self) -> None:
        app = web.Application()
        self._routes(app.router)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def __enter__(self) -> Self:
        self._thread.start()
        self._call(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def _call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run `coro` on the server's loop from the test's thread; its result (10 s at most)."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)
