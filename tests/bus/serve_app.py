"""A small app served by `serve_asgi` in a process of its own, for tests of the server's limits.

`python -m tests.bus.serve_app PORT HEADER_TIMEOUT_S BODY_TIMEOUT_S MAX_CONNECTIONS`; ready when it logs
`testserver.started`; it serves the listening socket its supervisor hands it, if any (`bus/listen.py`),
else it binds PORT. `POST /echo` answers the length of the body it read; `/slow?s=N` reads the body and
answers after N seconds (an app that is slow, unlike its client); `/stream?s=N` starts its answer at
once and ends it after N seconds (it holds its connection, visibly); `/healthz` answers at once.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route

from clawbus.bus.listen import inherited_listener
from clawbus.bus.logging import configure_logging
from clawbus.bus.request_deadlines import ServerLimits
from clawbus.bus.serve import serve_asgi


async def echo(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(len(await request.body())))


async def slow(request: Request) -> PlainTextResponse:
    await request.body()
    await asyncio.sleep(float(request.query_params.get("s", "2")))
    return PlainTextResponse("slow")


async def stream(request: Request) -> StreamingResponse:
    async def parts() -> AsyncIterator[bytes]:
        yield b"started\n"
        await asyncio.sleep(float(request.query_params.get("s", "2")))
        yield b"ended\n"

    return StreamingResponse(parts(), media_type="text/plain")


async def healthz(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def main() -> None:
    port, header_s, body_s, max_connections = sys.argv[1:5]
    app = Starlette(
        routes=[
            Route("/echo", echo, methods=["POST"]),
            Route("/slow", slow, methods=["GET", "POST"]),
            Route("/stream", stream),
            Route("/healthz", healthz),
        ]
    )
    limits = ServerLimits(float(header_s), float(body_s), int(max_connections))
    configure_logging("INFO")
    sock = inherited_listener()
    asyncio.run(
        serve_asgi(app, host="127.0.0.1", port=int(port), stage="testserver", limits=limits, sock=sock)
    )


if __name__ == "__main__":
    main()
