"""Serving an ASGI app as a stage process: uvicorn on loopback, a `<stage>.started` line once bound.

On SIGTERM/SIGINT the server stops accepting, finishes open requests (up to 5 s), runs the app's lifespan
shutdown and the process exits 0 — a stop that was asked for is a clean exit. (uvicorn's own handler
re-raises the signal after shutdown, which would end the process with -15.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

from .logging import log_event

logger = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn's server, stopping on SIGTERM/SIGINT without re-raising the signal afterwards."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop)
        try:
            yield
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)

    def _stop(self) -> None:
        if self.should_exit:
            self.force_exit = True  # a second signal: stop waiting for open requests
        self.should_exit = True


async def serve_asgi(app: ASGIApp, *, host: str, port: int, stage: str) -> None:
    """Serve `app` until a stop signal; logs `<stage>.started` with its URL once listening."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():  # noqa: ASYNC110  # uvicorn has no "bound" event
        await asyncio.sleep(0.02)
    if server.started:
        log_event(logger, f"{stage}.started", url=f"http://{host}:{port}")
    await task
    log_event(logger, f"{stage}.stopped")
