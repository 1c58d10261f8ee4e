"""A stage whose port the supervisor holds: a request made while the stage is being restarted waits for
the next process and is answered, instead of being refused (ingress under `clawbus up`)."""

from __future__ import annotations

import os
import socket
import sys
import threading
from pathlib import Path

import httpx
import pytest

from clawbus.bus.errors import ConfigError
from clawbus.bus.listen import LISTEN_FD_ENV, inherited_listener
from clawbus.local.supervisor import Stage, StageFailed
from tests.helpers import free_port, stage_supervisor
from tests.layout import ROOT


def server_stage(port: int, *, held: bool) -> Stage:
    argv = [sys.executable, "-m", "tests.bus.serve_app", str(port), "10", "10", "8"]
    listen = ("127.0.0.1", port) if held else None
    return Stage(name="testserver", argv=argv, ready_event="testserver.started", listen=listen)


def test_a_request_sent_while_the_stage_restarts_is_answered_by_the_next_process(tmp_path: Path) -> None:
    port = free_port()
    supervisor = stage_supervisor(tmp_path / "logs", {"PYTHONPATH": str(ROOT)})
    stage = server_stage(port, held=True)
    try:
        supervisor.start(stage)
        first_pid = stage.process.pid if stage.process else None
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").text == "ok"
        assert stage.process is not None
        stage.process.kill()  # a crash: nothing accepts on the port now
        stage.process.wait()
        answers: list[httpx.Response | Exception] = []

        def ask() -> None:
            try:
                answers.append(httpx.post(f"http://127.0.0.1:{port}/echo", content=b"hello", timeout=60))
            except httpx.HTTPError as exc:
                answers.append(exc)

        asking = threading.Thread(target=ask)
        asking.start()  # connects into the held socket's backlog while no process serves it
        supervisor.restart(stage)  # as the watchdog does
        asking.join(60)
        assert stage.process is not None
        assert stage.process.pid != first_pid
        assert [a.text if isinstance(a, httpx.Response) else repr(a) for a in answers] == ["5"]
    finally:
        supervisor.stop_all(grace_s=5)
    with pytest.raises(httpx.ConnectError):  # stopped for good: the port is released
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


def test_without_a_held_socket_the_same_request_is_refused(tmp_path: Path) -> None:
    """The gap the held socket closes (what a restart did to ingress before)."""
    port = free_port()
    supervisor = stage_supervisor(tmp_path / "logs", {"PYTHONPATH": str(ROOT)})
    stage = server_stage(port, held=False)
    try:
        supervisor.start(stage)
        assert stage.process is not None
        stage.process.kill()
        stage.process.wait()
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    finally:
        supervisor.stop_all(grace_s=5)


def test_a_taken_port_fails_the_stage_with_what_to_do(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        supervisor = stage_supervisor(tmp_path / "logs", {"PYTHONPATH": str(ROOT)})
        with pytest.raises(StageFailed, match=rf"testserver cannot listen on 127.0.0.1:{port}.*another port"):
            supervisor.start(server_stage(port, held=True))
        supervisor.stop_all(grace_s=5)


def test_a_bad_inherited_descriptor_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LISTEN_FD_ENV, "not-a-number")
    with pytest.raises(ConfigError, match="unset it"):
        inherited_listener()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as unbound:  # open, but not listening
        monkeypatch.setenv(LISTEN_FD_ENV, str(unbound.fileno()))
        with pytest.raises(ConfigError, match="not a listening TCP socket"):
            inherited_listener()
        assert unbound.fileno() >= 0  # left open for its owner
    assert LISTEN_FD_ENV not in os.environ  # taken: no child of this process sees it
    assert inherited_listener() is None
