"""A `GET /healthz` endpoint for a worker process (ECS container health checks, `clawbus status`).

Served by uvicorn inside the worker's own event loop; it never touches the worker's signal handling
(the worker owns SIGTERM). The report is whatever the worker's callback returns; HTTP 503 when it says
`healthy: false` (e.g. the receive loop has stalled).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Report = Callable[[], dict[str, Any]]


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the worker owns the signals
        yield


@contextlib.asynccontextmanager
async def health_server(report: Report, host: str, port: int | None) -> AsyncIterator[None]:
    """Serve `report` at `http://host:port/healthz` for the life of the block (nothing when port is None)."""
    if port is None:
        yield
        return

    async def healthz(_request: Request) -> Response:
        body = report()
        return JSONResponse(body, status_code=200 if body.get("healthy", True) else 503)

    app = Starlette(routes=[Route("/healthz", healthz)])
    server = _QuietServer(uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False))
    task = asyncio.create_task(server.serve())
    try:
        yield
    finally:
        server.should_exit = True
        await task
