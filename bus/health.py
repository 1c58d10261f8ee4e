"""A `GET /healthz` endpoint for a worker process (ECS container health checks, `clawbus status`).

Served by uvicorn inside the worker's own event loop; it never touches the worker's signal handling
(the worker owns SIGTERM). The report is whatever the worker's callback returns; HTTP 503 when it says
`healthy: false` (e.g. the receive loop has stalled).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clawbus.bus.serve import serve_inside

Report = Callable[[], dict[str, Any]]


@contextlib.asynccontextmanager
async def health_server(report: Report, host: str, port: int | None) -> AsyncIterator[None]:
    """Serve `report` at `http://host:port/healthz` for the life of the block (nothing when port is None)."""
    if port is None:
        yield
        return

    async def healthz(_request: Request) -> Response:
        body = report()
        return JSONResponse(body, status_code=200 if body.get("healthy", True) else 503)

    async with serve_inside(Starlette(routes=[Route("/healthz", healthz)]), host, port):
        yield
