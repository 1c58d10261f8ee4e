"""Deadlines for receiving an HTTP request, which uvicorn does not have (slow clients, "slowloris").

uvicorn's only read timer is the keep-alive one: armed after a response, cancelled by the next byte that
arrives. A connection that sends nothing after connecting, or trickles its headers or body a byte at a
time, is held open for ever, and enough of them exhaust the server's connections and file descriptors
(uvicorn issue #157 planned `--timeout-request-start`; it was never built). ASGI middleware cannot bound
the headers: the app only runs once they are complete. So the server's h11 protocol gets two timers:

- **headers**: from the connection (or, on a kept-alive connection, the end of the previous response)
  until the request's headers are complete. On expiry the connection is closed: there is no request to
  answer yet.
- **body**: from the headers until the request's last byte. On expiry the client gets a 408 when the app
  has not answered yet, and the connection is closed; the app sees a client disconnect.

Both are total deadlines, not idle timeouts: a byte every second does not extend them. The time the app
takes to answer (a WebChat long-poll) is not limited here. uvicorn's `limit_concurrency` supplies the
connection limit (`ServerLimits.max_connections`): a request arriving while that many other connections
are open is answered 503.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from clawbus.bus.logging import log_event

logger = logging.getLogger(__name__)

_TIMEOUT_BODY = b"request body not received in time"


@dataclass(frozen=True)
class ServerLimits:
    """How long a client may take to send a request, and how many connections are served at once.

    `max_connections=None` serves any number (bounded only by the process's file descriptors).
    """

    header_timeout_s: float = 10.0
    body_timeout_s: float = 10.0
    max_connections: int | None = None

    def limit_concurrency(self) -> int | None:
        """uvicorn's `limit_concurrency` for `max_connections`: uvicorn counts the connection asking too,
        so N+1 lets N connections be served and answers 503 to the next."""
        return None if self.max_connections is None else self.max_connections + 1


_LINGER_S = 5.0  # how long a timed-out connection drains the client's bytes after the 408 (nginx: 5 s)


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the header and body deadlines of `limits` (see the module docstring).

    Subclassed per server by `protocol_class`, which sets `limits` and `stage` (for log event names).
    """

    limits: ClassVar[ServerLimits] = ServerLimits()
    stage: ClassVar[str] = "server"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._lingering = False  # a 408 is on its way out: what the client still sends is dropped

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._follow_request()

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return
        super().data_received(data)
        self._follow_request()

    def on_response_complete(self) -> None:
        # uvicorn starts the next request cycle of a kept-alive connection here: its headers' deadline
        # runs from now.
        super().on_response_complete()
        self._follow_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        self._cancel_body_timer()
        super().connection_lost(exc)

    def _follow_request(self) -> None:
        """Arm or cancel the timers for where the client is in sending its current request."""
        if self.transport is None or self.transport.is_closing():
            return
        state = self.conn.their_state
        if state is h11.IDLE:  # waiting for (the rest of) a request line and headers
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(self.limits.header_timeout_s, self._headers_late)
        elif state is h11.SEND_BODY:
            self._cancel_header_timer()
            if self._body_timer is None:
                self._body_timer = self.loop.call_later(self.limits.body_timeout_s, self._body_late)
        else:  # the whole request is in (or the connection is done with)
            self._cancel_header_timer()
            self._cancel_body_timer()

    def _headers_late(self) -> None:
        self._header_timer = None
        received, _ = self.conn.trailing_data
        if received:  # an idle connection (a browser's preconnect) is closed without a log line
            log_event(
                logger,
                f"{self.stage}.request.timed_out",
                logging.WARNING,
                phase="headers",
                timeout_s=self.limits.header_timeout_s,
                received_bytes=len(received),
            )
        self.transport.close()

    def _body_late(self) -> None:
        self._body_timer = None
        log_event(
            logger,
            f"{self.stage}.request.timed_out",
            logging.WARNING,
            phase="body",
            timeout_s=self.limits.body_timeout_s,
            path=self.scope["path"] if self.scope else None,
        )
        cycle = self.cycle
        if cycle is not None and not cycle.response_started and self.conn.our_state is h11.SEND_RESPONSE:
            headers = [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(_TIMEOUT_BODY)).encode()),
                (b"connection", b"close"),
            ]
            response = h11.Response(status_code=408, headers=headers, reason=b"Request Timeout")
            for event in (response, h11.Data(data=_TIMEOUT_BODY), h11.EndOfMessage()):
                self.transport.write(self.conn.send(event) or b"")
        if cycle is not None:
            # The app's next receive() says the client is gone, and whatever it sends is dropped.
            cycle.disconnected = True
            cycle.message_event.set()
        # A lingering close: a socket closed while the client's next bytes arrive answers them with a
        # reset, which can discard the 408 before the client reads it. So: our side done, their bytes
        # dropped for a moment, then closed.
        self._lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(_LINGER_S, self.transport.close)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _cancel_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None


def protocol_class(limits: ServerLimits, stage: str) -> type[DeadlineH11Protocol]:
    """A `DeadlineH11Protocol` with `limits`, for uvicorn's `Config(http=...)`."""
    return type("DeadlineH11Protocol", (DeadlineH11Protocol,), {"limits": limits, "stage": stage})
