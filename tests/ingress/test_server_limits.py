"""A real `clawbus ingress` cuts off slow clients (slowloris) and caps its connections.

Ingress runs with its default deadlines (10 s for headers, 10 s for a body) and
`CLAWBUS_INGRESS__MAX_CONNECTIONS=2`; the clients are raw sockets that misbehave on purpose.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import make_bus
from tests.helpers import free_port, stage, stage_supervisor, wait_for
from tests.slow_clients import connect, get, status_of, trickle


@pytest.fixture(scope="module")
def port(aws_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    env = {
        **make_bus(aws_endpoint).env,
        "CLAWBUS_INGRESS__PORT": str(port),
        "CLAWBUS_INGRESS__MAX_CONNECTIONS": "2",
    }
    supervisor = stage_supervisor(tmp_path_factory.mktemp("ingress-limits") / "logs", env)
    supervisor.start_all([stage("ingress", "ingress.started", "ingress")])
    yield port
    codes = supervisor.stop_all()
    assert all(code == 0 for _, code in codes), codes


def test_a_client_sending_a_byte_a_second_is_cut_off_within_10_s_and_ingress_still_answers(port: int) -> None:
    headers = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 60 + b"\r\n\r\n"
    body_first = b"POST /webhooks/telegram HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    body_first += b"Content-Length: 60\r\n\r\n"

    def slow_headers() -> tuple[float, bytes] | None:
        with connect(port) as sock:
            return trickle(sock, headers, every_s=1.0, give_up_s=15.0)

    def slow_body() -> tuple[float, bytes] | None:
        with connect(port) as sock:
            sock.sendall(body_first)
            return trickle(sock, b"{" + b" " * 58 + b"}", every_s=1.0, give_up_s=15.0)

    with ThreadPoolExecutor(2) as pool:
        header_cut, body_cut = pool.submit(slow_headers), pool.submit(slow_body)
        header_result, body_result = header_cut.result(timeout=30), body_cut.result(timeout=30)
    assert header_result is not None, "a client trickling its headers was kept for 15 s"
    assert header_result[0] < 15.0
    assert body_result is not None, "a client trickling its body was kept for 15 s"
    assert body_result[0] < 15.0
    assert status_of(body_result[1]) == 408
    assert wait_for(lambda: get(port, "/healthz") == 200, timeout=5, what="ingress answering")


def test_beyond_max_connections_ingress_answers_503_and_recovers_when_they_close(port: int) -> None:
    held = [connect(port) for _ in range(2)]
    try:
        for sock in held:  # two connections mid-request (the header deadline is 10 s away)
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        assert get(port, "/healthz") == 503
    finally:
        for sock in held:
            sock.close()
    assert wait_for(lambda: get(port, "/healthz") == 200, timeout=5, what="ingress answering again")
