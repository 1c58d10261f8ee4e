"""Serving an ASGI app as a stage process: uvicorn on loopback, a `<stage>.started` line once bound.

Every server reads requests under `ServerLimits` (a client gets 10 s for its headers and 10 s for its
body, see `request_deadlines.py`); ingress, which faces the internet, also caps its connections.

On SIGTERM/SIGINT the server stops accepting, finishes open requests (up to 5 s), runs the app's lifespan
shutdown and the process exits 0 — a stop that was asked for is a clean exit. (uvicorn's own handler
re-raises the signal after shutdown, which would end the process with -15.)
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import signal
import socket
from collections.abc import AsyncIterator, Iterator

import uvicorn
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from clawbus.bus.listen import listening_socket
from clawbus.bus.logging import log_event
from clawbus.bus.request_deadlines import ServerLimits, protocol_class

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


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, for a child server that must be told
    its port before it starts (it may be taken meanwhile; the child then fails to bind and says so)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bearer_ok(request: Request, token: str) -> bool:
    """Whether `request` carries `Authorization: Bearer <token>` (compared in constant time): how the
    loopback servers inside a stage (the echo model, the OpenClaw plugins' callbacks) admit a caller."""
    given = request.headers.get("authorization", "").encode()
    return hmac.compare_digest(given, f"Bearer {token}".encode())


class _InnerServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the process's own server owns the signals
        yield


@contextlib.asynccontextmanager
async def serve_inside(app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[int]:
    """`app` served by a second server inside the caller's event loop for the life of the block (a
    stage's health endpoint, the agent's loopback helpers); yields the bound port. The socket is bound
    and listening before the block starts (connections queue until uvicorn takes them: no wait), and the
    signals stay the process's: a SIGTERM stops the stage, which then ends this server."""
    sock = listening_socket(host, port, backlog=128)
    config = uvicorn.Config(app, host=host, port=0, log_config=None, access_log=False, lifespan="off")
    server = _InnerServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield int(sock.getsockname()[1])
    finally:
        server.should_exit = True
        await task
        sock.close()


def _quiet_disconnects(app: ASGIApp, stage: str) -> ASGIApp:
    """`app`, ending quietly when the client went away while it read the body (a request whose body
    missed its deadline, or a client that gave up): that is the client's doing, not an error of the app,
    and uvicorn would log each one as "Exception in ASGI application" with a traceback."""

    async def quiet(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await app(scope, receive, send)
        except ClientDisconnect:
            log_event(logger, f"{stage}.client.disconnected", logging.DEBUG, path=scope.get("path"))

    return quiet


async def serve_asgi(
    app: ASGIApp,
    *,
    host: str,
    port: int,
    stage: str,
    limits: ServerLimits | None = None,
    sock: socket.socket | None = None,
) -> None:
    """Serve `app` until a stop signal; logs `<stage>.started` with its URL once listening.

    `limits` bounds how long a client may take to send a request and how many connections are served at
    once (default: `ServerLimits()`, 10 s each for headers and body, no connection cap). `sock`, a
    listening socket the process inherited (`bus/listen.py`), is served instead of binding `host:port`.
    """
    limits = limits or ServerLimits()
    config = uvicorn.Config(
        _quiet_disconnects(app, stage),
        host=host,
        port=port,
        http=protocol_class(limits, stage),
        limit_concurrency=limits.limit_concurrency(),
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=None if sock is None else [sock]))
    while not server.started and not task.done():  # noqa: ASYNC110  # uvicorn has no "bound" event
        await asyncio.sleep(0.02)
    if server.started:
        if sock is not None:
            host, port = sock.getsockname()[:2]
        log_event(logger, f"{stage}.started", url=f"http://{host}:{port}", inherited=sock is not None)
    await task
    log_event(logger, f"{stage}.stopped")
