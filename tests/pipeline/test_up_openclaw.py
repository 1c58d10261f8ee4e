"""`clawbus up --engine openclaw`: the whole bus with OpenClaw answering, as a user runs it.

Needs Node 24 and OpenClaw (`CLAWBUS_TEST_OPENCLAW_RUNTIME`, else /tmp/ocrt): skipped, saying so, when
none is installed. Slow: `up` twice, each starting and warming a gateway (~1 GB, 20-40 s).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.helpers import NO_OPENCLAW, echo, free_port, openclaw_runtime, start_up

pytestmark = pytest.mark.slow

RUNTIME = openclaw_runtime()
if RUNTIME is None:
    pytest.skip(NO_OPENCLAW, allow_module_level=True)


CLI = (sys.executable, "-m", "clawbus.cli")


def _say(data_dir: Path, port: int, text: str) -> str:
    said = subprocess.run(
        [
            *CLI,
            "say",
            text,
            "--url",
            f"http://127.0.0.1:{port}",
            "--timeout",
            "150",
            "--data-dir",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert said.returncode == 0, said.stdout + said.stderr
    return said.stdout.strip()


def _stop(up: subprocess.Popen[str]) -> list[psutil.Process]:
    children = psutil.Process(up.pid).children(recursive=True)
    up.send_signal(signal.SIGTERM)
    up.communicate(timeout=90)
    return children


def test_up_with_openclaw_answers_turn_after_turn_and_again_after_a_restart(tmp_path: Path) -> None:
    env = {**os.environ, "CLAWBUS_AGENT__OPENCLAW__RUNTIME_DIR": str(RUNTIME)}
    ports = {name: free_port() for name in ("ingress", "agent", "agentcore", "aws")}
    up, _shown = start_up(tmp_path, ports, "--engine", "openclaw", env=env)
    try:
        got = [_say(tmp_path, ports["ingress"], text) for text in ("one", "two", "three")]
    finally:
        children = _stop(up)
    assert got == [echo("one", 1, "openclaw"), echo("two", 2, "openclaw"), echo("three", 3, "openclaw")]
    assert up.returncode == 0
    assert not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children)  # no gateway left

    # A new microVM: OpenClaw's state dir is gone; the conversation must come back from the storage layer
    shutil.rmtree(tmp_path / "openclaw-state")
    up, _shown = start_up(tmp_path, ports, "--engine", "openclaw", env=env)
    try:
        again = _say(tmp_path, ports["ingress"], "four")
    finally:
        _stop(up)
    assert again == echo("four", 4, "openclaw")  # the stored transcript, not a local directory


def test_bench_openclaw_reports_the_engine_figures() -> None:
    env = {**os.environ, "CLAWBUS_AGENT__OPENCLAW__RUNTIME_DIR": str(RUNTIME)}
    ran = subprocess.run(
        [*CLI, "bench", "--openclaw", "--turns", "3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    figures = json.loads(ran.stdout.strip().splitlines()[-1])
    assert figures["openclaw_turns"] == 3
    names = ("gateway_start", "warm_up", "start_to_first_answer", "warm_start_first_answer", "direct_turn")
    for name in (*names, "agent_turn"):
        assert figures[f"openclaw_{name}_ms"] > 0, figures
