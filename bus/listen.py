"""Listening sockets a parent opens once and its server children inherit across restarts.

A stage restarted by `clawbus up`'s watchdog used to leave its port closed between the old process's
death and the new one's bind: a webhook or a WebChat request in that gap was refused, and the platform
(or the page) had to retry. The supervisor now binds the socket itself and hands the same listening
descriptor to every incarnation of the stage (`CLAWBUS_LISTEN_FD`): while no process accepts,
connections wait in the kernel's backlog and are served by the next one. systemd's socket activation
does the same for services; its `LISTEN_FDS` convention fixes the descriptor at 3, which a plain
`subprocess` cannot promise, hence a variable of our own.
"""

from __future__ import annotations

import os
import socket

from clawbus.bus.errors import ConfigError

LISTEN_FD_ENV = "CLAWBUS_LISTEN_FD"
BACKLOG = 1024  # connections that may wait while no process accepts (a restart takes ~2 s)


def listening_socket(host: str, port: int, backlog: int = BACKLOG) -> socket.socket:
    """A TCP socket bound to `host:port` and listening (`OSError` when the port is taken)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


def inherited_listener() -> socket.socket | None:
    """The listening socket this process's supervisor handed it, if any. The variable is removed from
    the environment, so no process this one starts believes the descriptor is its own."""
    raw = os.environ.pop(LISTEN_FD_ENV, None)
    if raw is None:
        return None
    try:
        sock = socket.socket(fileno=int(raw))
    except (ValueError, OSError) as exc:
        raise ConfigError(
            f"{LISTEN_FD_ENV}={raw!r} is not an open socket ({exc}); it is set by `clawbus up` for the "
            "stages it starts: unset it to listen on the configured host and port"
        ) from exc
    if sock.type != socket.SOCK_STREAM or sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 0:
        sock.detach()
        raise ConfigError(f"{LISTEN_FD_ENV}={raw} is not a listening TCP socket; unset it")
    return sock
