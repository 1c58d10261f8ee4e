"""A `GET /healthz` endpoint for a worker process (ECS container health checks, `clawbus status`).

Served by uvicorn inside the worker's own event loop; it never touches the worker's signal handling
(the worker owns SIGTERM). The report is whatever the worker's callback returns; HTTP 503 when it says
`healthy: false` (e.g. the receive loop has stalled).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clawbus.bus.clients import request_counts
from clawbus.bus.serve import serve_inside

if TYPE_CHECKING:
    from clawbus.bus.consumer import FifoConsumer

Report = Callable[[], dict[str, Any]]
STALLED_AFTER_S = 120  # a receive loop silent this long is unhealthy (long polls return within 20 s)


def consumer_report(consumer: FifoConsumer, requests: dict[str, int]) -> dict[str, Any]:
    """A queue worker's health: alive while its receive loop runs, its counters, and the AWS requests
    it sent by service and by operation (`bus.clients.request_counts`; `clawbus bench` reads it per stage)."""
    stats = consumer.stats
    silent = time.monotonic() - stats.last_receive_at
    return {
        "healthy": silent < STALLED_AFTER_S,
        "in_flight": consumer.in_flight,
        "handled": stats.handled,
        "dead_lettered": stats.dead_lettered,
        "given_back": stats.given_back,
        "seconds_since_receive": round(silent, 1),
        **request_counts(requests),
    }


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
