"""A small ASGI app served on 127.0.0.1 (a free port) inside the agent process, for OpenClaw plugins.

The engine's plugins (`cron/`, `trust/`) call back into the Python wrapper over loopback HTTP with a
bearer token made per container. `serve_loopback` runs such an app on uvicorn for the life of a block and
yields its port once it listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator

import uvicorn
from starlette.requests import Request
from starlette.types import ASGIApp

from clawbus.bus.logging import log_event

logger = logging.getLogger(__name__)


def bearer_ok(request: Request, token: str) -> bool:
    """Whether `request` carries `Authorization: Bearer <token>` (compared in constant time)."""
    given = request.headers.get("authorization", "").encode()
    return hmac.compare_digest(given, f"Bearer {token}".encode())


@contextlib.asynccontextmanager
async def serve_loopback(app: ASGIApp, *, started_event: str) -> AsyncIterator[int]:
    """`app` served on 127.0.0.1 for the block; yields its port and logs `started_event` with it."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                await task  # raises what stopped it
                raise RuntimeError(f"the loopback server stopped at start ({started_event})")
            await asyncio.sleep(0.01)
        port = int(server.servers[0].sockets[0].getsockname()[1])
        log_event(logger, started_event, port=port)
        yield port
    finally:
        server.should_exit = True
        await task
