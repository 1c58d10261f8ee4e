"""The loopback AWS API's HTTP server: cheroot's thread pool, with keep-alive connections.

Every AWS call a stage makes is one HTTP request to this server, so what a request costs besides moto's
own work is paid on every hop of every turn. werkzeug's development server (moto's own `moto_server`)
answers every request with `Connection: close` (werkzeug >= 2.1 `WSGIRequestHandler.run_wsgi`: it cannot
drain a request body without eating the next request line), so each call opened a new TCP connection.
cheroot (CherryPy's maintained server, pure Python) keeps HTTP/1.1 connections open, reads the rest of a
body the app left unread before the next request, and parks idle connections in a selector, so they cost
no thread:

- `THREADS` workers serve requests. An SQS long poll holds one for as long as it waits (up to 20 s), so
  the pool is sized for every stage's pollers with room to spare: one per consumer (the dispatcher, each
  channel's egress worker, the bench's relay and collector), times the `clawbus up` runs and test workers
  that share one API, plus the short calls meanwhile.
- Idle keep-alive connections stay open `IDLE_TIMEOUT_S`, longer than the clients keep them (aiohttp
  drops its own after 15 s), so a client never reuses a connection the server is closing.

`MotoDispatcher` is moto's own WSGI app, with one cost taken off every request: moto 5.2.5 finds the
backend for a request's host by listing its package folder (`backends.list_of_moto_modules`: a stat per
folder, ~200) and trying each service's URL patterns, under one lock all requests share; here each host
is resolved once.

`MotoGateway` gives moto the WSGI environ werkzeug's server (with moto's `MotoRequestHandler`) gave it:
`RAW_URI` (the request target as sent, which S3 keys and the signature check need), and S3 user metadata
headers whose names hold underscores (`x-amz-meta-my_key`) under their own spelling; any other header
with an underscore is dropped, as werkzeug drops it, so `X_Amz_Date` cannot stand in for `X-Amz-Date`.
"""

from __future__ import annotations

from typing import Any

from cheroot.wsgi import Gateway_10, Server
from moto.core.request import (
    PRESERVED_HEADER_NAMES_ENVIRON_KEY,
    environ_key_for_header,
    should_preserve_original_header_name,
)
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from clawbus.local.request_gate import WsgiApp

THREADS = 64
IDLE_TIMEOUT_S = 75  # nginx's keepalive_timeout; above aiohttp's 15 s and urllib3's (none: it checks)
KEEP_ALIVE_CONNECTIONS = 1024  # cheroot's default (10) would close most stages' pooled connections
LISTEN_BACKLOG = 128  # werkzeug's; cheroot's default is 5
_MOST_HOSTS = 1024  # hosts come from signed requests (service and region): a handful in practice


class MotoDispatcher(DomainDispatcherApplication):
    """moto's WSGI app (every service, chosen by host), resolving each host to its backend once."""

    def __init__(self) -> None:
        super().__init__(create_backend_app)
        self._backends: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        """The backend serving `host`, as moto finds it (called under moto's dispatch lock)."""
        try:
            return self._backends[host]
        except KeyError:
            backend = super().get_backend_for_host(host)
            if len(self._backends) < _MOST_HOSTS:
                self._backends[host] = backend
            return backend


class MotoGateway(Gateway_10):
    """WSGI 1.0 as cheroot serves it, plus what moto's werkzeug request handler adds (module docstring)."""

    # cheroot 11.1.2's stub types the environ as None (and Gateway_10's as untyped): it is the dict
    def get_environ(self) -> dict[str, Any]:  # type: ignore[override]
        """The request's environ, with `RAW_URI` and the S3 metadata names moto looks for."""
        environ: dict[str, Any] = super().get_environ()  # type: ignore[no-untyped-call]
        environ["RAW_URI"] = environ["REQUEST_URI"]
        received: dict[bytes, bytes] = self.req.inheaders
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in received.items()}
        dashed = {environ_key_for_header(name): value for name, value in headers.items() if "_" not in name}
        preserved: dict[str, str] = {}
        for name in headers:
            if "_" not in name:
                continue
            key = environ_key_for_header(name)
            if key in dashed:
                environ[key] = dashed[key]  # never let an underscored header stand in for a dashed one
            elif should_preserve_original_header_name(name):
                preserved[key] = name.lower()  # cheroot title-cases names; S3 keeps metadata lower case
            else:
                environ.pop(key, None)
        environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = preserved
        return environ


def make_server(host: str, port: int, app: WsgiApp) -> Server:
    """A cheroot server for `app` on `host:port`, not yet bound (`prepare()` binds, `serve()` serves)."""
    server = Server(
        (host, port),
        app,
        numthreads=THREADS,
        server_name="clawbus-local-aws",
        request_queue_size=LISTEN_BACKLOG,
        timeout=IDLE_TIMEOUT_S,
        shutdown_timeout=5,
    )
    server.gateway = MotoGateway
    server.keep_alive_conn_limit = KEEP_ALIVE_CONNECTIONS
    return server
