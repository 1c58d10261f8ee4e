"""The local browser's only way out: a forward proxy on loopback that vets and pins every connection.

Playwright's `context.route` sees the requests a page makes but not redirect hops (Chromium follows a
302 without asking), and after a route check Chromium resolves the name again by itself. So local
Chromium is launched with this proxy for every URL (Playwright adds `<-loopback>`, so even loopback
goes through it), and the proxy is where each connection is decided:

- `CONNECT host:port` (https, wss): vet `host` with `web_guard.vetted_addresses` (resolved once, every
  answer public or `host:port` in `allow_hosts`), dial the vetted address, then relay bytes. TLS stays
  end to end between Chromium and the site, certificate checked by Chromium for the URL's name.
- `GET http://host:port/path` (plain http, ws): the same vetting, then the request goes upstream in
  origin form with `Connection: close`, one request per connection, and the answer is relayed back.

A refusal is a `403` whose body says why (a page shows it; a tunnel fails). Chromium never resolves
names itself: a proxied request carries the host name to the proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Self
from urllib.parse import urlsplit

from clawbus.agent.tools.web_guard import SYSTEM_RESOLVER, Resolver, vetted_addresses
from clawbus.bus.errors import PermanentError
from clawbus.bus.logging import log_event

logger = logging.getLogger(__name__)

MAX_HEAD_BYTES = 64 * 1024
_HOP_HEADERS = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te"})

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]
# Opens a TCP connection to an address (the real network; tests stand in for the internet).
Dial = Callable[[str, int], Awaitable[Streams]]


class BadRequest(PermanentError):
    """A request the proxy cannot read (malformed, or not a proxy request)."""


@dataclass(frozen=True)
class ProxyRequest:
    """Where a proxied request goes, and the bytes to send upstream first (empty for a tunnel)."""

    host: str
    port: int
    tunnel: bool
    upstream_head: bytes


def parse_head(head: bytes) -> ProxyRequest:
    """Read a proxy request's head: `CONNECT host:port`, or an absolute-form `http://` request."""
    try:
        line, *fields = head.decode("latin-1").removesuffix("\r\n\r\n").split("\r\n")
        method, target, version = line.split(" ")
    except ValueError as exc:
        raise BadRequest("not an HTTP request line") from exc
    if method == "CONNECT":
        parts = urlsplit(f"//{target}")
        if not parts.hostname or parts.port is None:
            raise BadRequest(f"CONNECT needs host:port, not {target[:100]!r}")
        return ProxyRequest(parts.hostname, parts.port, True, b"")
    parts = urlsplit(target)
    if parts.scheme not in ("http", "ws") or not parts.hostname:
        raise PermanentError(f"only http(s) can be fetched through the browser, not {target[:100]!r}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kept = [f for f in fields if f and f.split(":", 1)[0].strip().lower() not in _HOP_HEADERS]
    upstream = "\r\n".join([f"{method} {path} {version}", *kept, "Connection: close", "", ""])
    return ProxyRequest(parts.hostname, parts.port or 80, False, upstream.encode("latin-1"))


async def _dial_tcp(address: str, port: int) -> Streams:
    return await asyncio.open_connection(address, port)


async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy until end of file (or a reset); then pass the end of file on."""
    with contextlib.suppress(OSError):
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
        if sink.can_write_eof():
            sink.write_eof()


class GuardProxy:
    """An HTTP forward proxy on 127.0.0.1 (an ephemeral port) that connects only to vetted addresses."""

    def __init__(
        self,
        allow_hosts: frozenset[str],
        resolver: Resolver = SYSTEM_RESOLVER,
        *,
        connect_timeout_s: float = 10.0,
        dial: Dial = _dial_tcp,
    ) -> None:
        self._allow_hosts = allow_hosts
        self._resolver = resolver
        self._timeout_s = connect_timeout_s
        self._dial = dial
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        """The proxy's address for Chromium's `--proxy-server`."""
        if self._server is None:
            raise RuntimeError("the proxy is not running")
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=MAX_HEAD_BYTES)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            await self._relay(reader, writer)
        finally:
            writer.close()
            if task is not None:
                self._handlers.discard(task)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(self._timeout_s):
                request = parse_head(await reader.readuntil(b"\r\n\r\n"))
                upstream_reader, upstream = await self._connect(request)
        except PermanentError as exc:
            kind = "bad_request" if isinstance(exc, BadRequest) else "refused"
            log_event(logger, "agent.browser.request_refused", logging.WARNING, reason=kind)
            await self._answer(writer, 400 if kind == "bad_request" else 403, str(exc))
            return
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            await self._answer(writer, 502, "the proxy could not reach the site")
            return
        try:
            if request.tunnel:
                writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            else:
                upstream.write(request.upstream_head)
            to_site = asyncio.create_task(_pump(reader, upstream))
            await _pump(upstream_reader, writer)  # the site's answer ends the exchange
            to_site.cancel()
            await asyncio.gather(to_site, return_exceptions=True)
        finally:
            upstream.close()

    async def _connect(self, request: ProxyRequest) -> Streams:
        addresses = await vetted_addresses(
            request.host, request.port, allow_hosts=self._allow_hosts, resolver=self._resolver
        )
        failure: OSError = OSError(f"no address for {request.host}")
        for address in addresses:
            try:
                return await self._dial(address, request.port)
            except OSError as exc:
                failure = exc
        raise failure

    @staticmethod
    async def _answer(writer: asyncio.StreamWriter, status: int, reason: str) -> None:
        body = f"clawbus browser: {reason}\n".encode()
        phrase = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}[status]
        head = f"HTTP/1.1 {status} {phrase}\r\ncontent-type: text/plain; charset=utf-8\r\n"
        writer.write(f"{head}content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode() + body)
        with contextlib.suppress(OSError):
            await writer.drain()
