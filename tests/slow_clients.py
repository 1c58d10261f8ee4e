"""Raw-socket HTTP clients that misbehave on purpose: they connect and say nothing, or trickle a request
a byte at a time, and report when the server cut them off. Waiting is always for the server's answer or
close, with a deadline, never an idle sleep."""

from __future__ import annotations

import socket
import time


def connect(port: int) -> socket.socket:
    """A TCP connection to 127.0.0.1:`port`."""
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def read_until_closed(sock: socket.socket, timeout: float, received: bytearray | None = None) -> bytes | None:
    """Everything the server sent, once it closed the connection within `timeout` seconds; None while it
    is still open then. What arrives meanwhile is kept in `received` (when given) for the next call: an
    answer can come in one wait and the close in the next (a client descheduled for longer than the
    wait after reading the answer), and the answer must not be lost with the wait that read it."""
    received = bytearray() if received is None else received
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return None
        except ConnectionResetError:
            return bytes(received)
        if not chunk:
            return bytes(received)
        received.extend(chunk)
    return None


def trickle(sock: socket.socket, data: bytes, every_s: float, give_up_s: float) -> tuple[float, bytes] | None:
    """Send `data` one byte every `every_s` seconds (each pause spent waiting for the server to close);
    the seconds until the server closed the connection and everything it answered, or None when it was
    still open after `give_up_s` seconds or once every byte went out."""
    start = time.monotonic()
    received = bytearray()  # across the pauses: the answer may arrive in one and the close in the next
    for byte in data:
        if time.monotonic() - start > give_up_s:
            return None
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - start, read_until_closed(sock, 1.0, received) or bytes(received)
        answer = read_until_closed(sock, every_s, received)
        if answer is not None:
            return time.monotonic() - start, answer
    return None


def status_of(answer: bytes) -> int | None:
    """The status code of a raw HTTP/1.1 response, or None for no response."""
    if not answer.startswith(b"HTTP/1.1 "):
        return None
    return int(answer[9:12])


def get(port: int, path: str, timeout: float = 10.0) -> int | None:
    """The status of `GET path` on a fresh connection (None when the server closed it without one)."""
    with connect(port) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        answer = read_until_closed(sock, timeout)
        return status_of(answer) if answer is not None else None
