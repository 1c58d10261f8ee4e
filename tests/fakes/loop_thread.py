"""A stand-in server whose own event loop runs in a background thread, so a synchronous test can start it,
call into it and stop it (the Slack Socket Mode and Discord gateway stand-ins)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, Self


class LoopThreadServer:
    """Subclasses define `_start` and `_stop` (run on the loop); `with server:` runs it meanwhile."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    async def _start(self) -> None:
        raise NotImplementedError

    async def _stop(self) -> None:
        raise NotImplementedError

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
