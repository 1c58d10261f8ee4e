"""A TCP proxy in front of the loopback AWS API that can make it unreachable for a while.

Stages are pointed at the proxy instead of moto. `outage(seconds)` cuts every open connection and, until
it ends, resets each new one as soon as it is accepted: to a client that is the endpoint going away
(connection reset, then refused-like failures), the way a network partition or a restarting endpoint
looks. moto itself keeps its state, so what was accepted before the outage is still there after it.
Runs its own asyncio loop in a background thread; use it as a context manager.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time

from tests.helpers import free_port, wait_for

_CHUNK = 65_536


class OutageProxy:
    """Forwards `127.0.0.1:<port>` to `upstream` (host:port) except during an outage."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.refused = 0  # connections reset during outages
        self._down_until = 0.0
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def down(self) -> bool:
        """Whether an outage is in force."""
        return time.monotonic() < self._down_until

    def outage(self, seconds: float) -> None:
        """Cut every connection now and refuse new ones for `seconds`."""
        self._down_until = time.monotonic() + seconds
        asyncio.run_coroutine_threadsafe(self._cut_all(), self._loop).result(timeout=5)

    async def _cut_all(self) -> None:
        for writer in list(self._writers):
            _reset(writer)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down():
            self.refused += 1
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            _reset(writer)
            return
        self._writers |= {writer, up_writer}
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            self._writers -= {writer, up_writer}
            for w in (writer, up_writer):
                w.close()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        await self._cut_all()

    def __enter__(self) -> OutageProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=5)
        wait_for(lambda: self._server is not None, timeout=5, what="the outage proxy")
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError):
        if writer.can_write_eof():
            writer.write_eof()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), as a vanished endpoint does, rather than a polite FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()
