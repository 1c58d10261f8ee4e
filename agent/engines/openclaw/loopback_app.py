"""A small ASGI app served on 127.0.0.1 (a free port) inside the agent process, for OpenClaw plugins.

The engine's plugins (`cron/`, `trust/`) call back into the Python wrapper over loopback HTTP with a
bearer token made per container. `serve_loopback` runs such an app for the life of a block and yields
its port.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.types import ASGIApp

from clawbus.bus.logging import log_event
from clawbus.bus.serve import bearer_ok, serve_inside

__all__ = ["bearer_ok", "serve_loopback"]

logger = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def serve_loopback(app: ASGIApp, *, started_event: str) -> AsyncIterator[int]:
    """`app` served on 127.0.0.1 for the block (`bus.serve.serve_inside`: the agent's server keeps the
    signals); yields its port and logs `started_event` with it."""
    async with serve_inside(app) as port:
        log_event(logger, started_event, port=port)
        yield port
