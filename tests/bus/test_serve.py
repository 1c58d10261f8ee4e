"""`serve_asgi` cuts off clients that are slow to send a request, and caps its connections.

A small app (`serve_app.py`) runs under `serve_asgi` in a process of its own with 1 s deadlines for
headers and body and at most 2 connections; the clients are raw sockets that misbehave on purpose.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from clawbus.local.supervisor import Stage
from tests.helpers import free_port, stage_supervisor, wait_for
from tests.slow_clients import connect, get, read_until_closed, status_of, trickle

ROOT = Path(__file__).resolve().parent.parent.parent
HEADERS = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 200 + b"\r\n\r\n"


@dataclass
class Server:
    port: int
    log: Path

    def records(self) -> list[dict[str, Any]]:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [json.loads(line) for line in lines if line.startswith("{")]

    def events(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.records() if r.get("event") == name]

    def wait_for_timeout(self, phase: str) -> None:
        """The server's `request.timed_out` line for `phase`: it reaches the log file through the
        supervisor's copy of the child's stderr, which may land after the client saw the cut."""
        wait_for(
            lambda: [e for e in self.events("testserver.request.timed_out") if e["phase"] == phase],
            what=f"the server to log a {phase} timeout",
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    log_dir = tmp_path_factory.mktemp("serve") / "logs"
    supervisor = stage_supervisor(log_dir, {"PYTHONPATH": str(ROOT)})
    argv = [sys.executable, "-m", "tests.bus.serve_app", str(port), "1", "1", "2"]
    supervisor.start(Stage(name="testserver", argv=argv, ready_event="testserver.started"))
    yield Server(port, log_dir / "testserver.log")
    codes = supervisor.stop_all()
    assert codes == [("testserver", 0)], codes


def test_a_connection_that_never_sends_a_request_is_closed(server: Server) -> None:
    with connect(server.port) as sock:
        assert read_until_closed(sock, 5.0) == b""


def test_headers_trickled_a_byte_at_a_time_are_cut_off_at_the_header_deadline(server: Server) -> None:
    with connect(server.port) as sock:
        cut = trickle(sock, HEADERS, every_s=0.1, give_up_s=5.0)
    assert cut is not None, "the server kept a trickling client for 5 s"
    seconds, answer = cut
    assert seconds < 3.0
    assert answer == b""  # no request to answer yet
    server.wait_for_timeout("headers")
    assert get(server.port, "/healthz") == 200


def test_a_body_trickled_after_the_headers_gets_a_408_and_a_close(server: Server) -> None:
    head = b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 200\r\n\r\n"
    with connect(server.port) as sock:
        sock.sendall(head)
        cut = trickle(sock, b"x" * 200, every_s=0.1, give_up_s=5.0)
    assert cut is not None, "the server kept a client trickling its body for 5 s"
    seconds, answer = cut
    assert seconds < 3.0
    assert status_of(answer) == 408
    server.wait_for_timeout("body")
    assert [r for r in server.records() if r["level"] == "ERROR"] == []  # the app saw a disconnect


def test_a_trickling_client_keeps_an_answer_that_came_a_wait_before_the_close() -> None:
    # The server's 408 and its close can reach the client in two of trickle's waits (a client that is not
    # scheduled again until its wait is over, at load 13); the 408 read in the first must not be lost.
    client, peer = socket.socketpair()

    def answer_then_close_after_the_next_byte() -> None:
        peer.recv(1)
        peer.sendall(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
        peer.recv(1)  # the client's next byte: it has waited once without seeing the close
        peer.close()

    server = threading.Thread(target=answer_then_close_after_the_next_byte)
    server.start()
    with client:
        cut = trickle(client, b"xxxx", every_s=0.2, give_up_s=5.0)
    server.join()
    assert cut is not None
    assert status_of(cut[1]) == 408


def test_the_next_request_on_a_kept_alive_connection_has_its_own_header_deadline(server: Server) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\nhi")
        sock.settimeout(5)
        assert status_of(sock.recv(65536)) == 200
        cut = trickle(sock, HEADERS, every_s=0.1, give_up_s=5.0)
    assert cut is not None, "a kept-alive connection trickled its next request for 5 s"
    assert cut[0] < 3.0


def test_an_app_slower_than_the_deadlines_still_answers(server: Server) -> None:
    # The deadlines bound the client sending its request, not the app answering (WebChat long-polls).
    request = (
        b"POST /slow?s=2.5 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi"
    )
    with connect(server.port) as sock:
        sock.sendall(request)
        answer = read_until_closed(sock, 10.0)
    assert answer is not None
    assert status_of(answer) == 200
    assert answer.endswith(b"slow")


def test_beyond_max_connections_a_request_gets_503_and_the_server_recovers(server: Server) -> None:
    request = b"GET /stream?s=3 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    held = [connect(server.port) for _ in range(2)]
    try:
        for sock in held:  # both allowed connections are answered (their answers take 3 s to finish)
            sock.sendall(request)
            assert status_of(sock.recv(65536)) == 200
        assert get(server.port, "/healthz") == 503  # a third, meanwhile, is refused
        for sock in held:
            answer = read_until_closed(sock, 10.0)
            assert answer is not None
            assert b"ended" in answer
    finally:
        for sock in held:
            sock.close()
    assert wait_for(lambda: get(server.port, "/healthz") == 200, timeout=5, what="served again")
