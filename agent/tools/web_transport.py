"""An httpx transport that connects only to the public addresses it vetted (DNS rebinding safe).

httpx's own transport resolves a host when it connects, so a check done before the request (resolve,
look at the answers) can be undone by a second, different answer: a name with a zero TTL can answer a
public address to the check and 127.0.0.1 or 169.254.169.254 (the metadata service holding the task
role's credentials) to the connection. Here the check *is* the connection's resolution:

    httpx.AsyncClient ─▶ PublicTransport ─▶ httpcore.AsyncConnectionPool
                                               └─▶ PinnedBackend.connect_tcp(host, port)
                                                     resolve once, vet (`web_guard`), dial the vetted IP

httpcore still takes TLS SNI and certificate verification from the URL's host name, and httpx the
`Host` header, so HTTPS works as usual; only the TCP connection is pinned. Every new connection (each
redirect hop to a new origin, each reconnect) is vetted again; a pooled connection was vetted when it
was opened. httpx 0.28's `AsyncHTTPTransport` takes no network backend (encode/httpx#3749 proposes
one), so this transport drives a public `httpcore.AsyncConnectionPool` itself and maps httpcore's errors
to httpx's, as `AsyncHTTPTransport` does. Environment proxies are not used (a proxy would resolve names
itself): an `AsyncClient` given a transport ignores `HTTP(S)_PROXY`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import cast

import httpcore
import httpx

from clawbus.agent.tools.web_guard import SYSTEM_RESOLVER, Resolver, vetted_addresses

# httpcore's errors → httpx's of the same name (most specific first wins by MRO order below).
_ERRORS: dict[type[Exception], type[httpx.TransportError]] = {
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
    httpcore.ProtocolError: httpx.ProtocolError,
}


@contextlib.contextmanager
def _mapped() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for kind in type(exc).__mro__:
            if kind in _ERRORS:
                raise _ERRORS[kind](str(exc)) from exc
        raise


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Dials only vetted addresses: `connect_tcp(host)` resolves `host` once and connects to its answer."""

    def __init__(
        self,
        allow_hosts: frozenset[str],
        resolver: Resolver = SYSTEM_RESOLVER,
        network: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allow_hosts = allow_hosts
        self._resolver = resolver
        self._network = network or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """A connection to the first reachable vetted address of `host` (`PermanentError` if refused)."""
        try:
            async with asyncio.timeout(timeout):
                addresses = await vetted_addresses(
                    host, port, allow_hosts=self._allow_hosts, resolver=self._resolver
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        failure: Exception = httpcore.ConnectError(f"no address to connect to for {host}")
        for address in addresses:
            try:
                return await self._network.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Never: the web tools reach the network only over TCP."""
        raise httpcore.ConnectError("unix sockets are not reachable from the web tools")

    async def sleep(self, seconds: float) -> None:
        """httpcore's retry back-off."""
        await self._network.sleep(seconds)


class _Body(httpx.AsyncByteStream):
    """A response body read from httpcore, its errors mapped to httpx's."""

    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _mapped():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            await close()


class PublicTransport(httpx.AsyncBaseTransport):
    """HTTP(S) to public addresses only, each connection pinned to the address its check vetted.

    `network` is where TCP connections are made (httpcore's AnyIO backend; tests pass a stand-in for
    the internet) and `ssl_context` whom certificates are checked against (certifi's CAs by default).
    """

    def __init__(
        self,
        allow_hosts: frozenset[str] = frozenset(),
        resolver: Resolver = SYSTEM_RESOLVER,
        *,
        network: httpcore.AsyncNetworkBackend | None = None,
        ssl_context: ssl.SSLContext | None = None,
        limits: httpx.Limits = httpx.Limits(max_connections=20, max_keepalive_connections=10),  # noqa: B008
    ) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(allow_hosts, resolver, network),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` over a pinned connection."""
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _mapped():
            response = await self._pool.handle_async_request(core)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(cast(AsyncIterable[bytes], response.stream)),  # async pool: async body
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        """Close the pool's connections."""
        await self._pool.aclose()
