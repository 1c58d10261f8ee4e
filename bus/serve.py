"""Serving an ASGI app as a stage process: uvicorn on loopback, a `<stage>.started` line once bound.

uvicorn handles SIGTERM/SIGINT itself: it stops accepting, finishes open requests and runs the app's
lifespan shutdown, then returns.
"""

from __future__ import annotations

import asyncio
import logging

import uvicorn
from starlette.types import ASGIApp

from .logging import log_event

logger = logging.getLogger(__name__)


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
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():  # noqa: ASYNC110  # uvicorn has no "bound" event
        await asyncio.sleep(0.02)
    if server.started:
        log_event(logger, f"{stage}.started", url=f"http://{host}:{port}")
    await task
    log_event(logger, f"{stage}.stopped")
