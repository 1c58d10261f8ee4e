"""What `clawbus up` lets other people reach on the user's machine: only ingress, only where asked.

Every other port (the AWS API, the AgentCore endpoint, the agent) stays on 127.0.0.1 and wants this
run's secrets; the data directory and what is in it are the user's alone; and the user's other
terminals (`clawbus status`) still work, finding the run's key pair in the data directory.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import psutil

from clawbus.bus.settings import AgentCoreSettings
from tests.helpers import free_port, start_up, wait_for

ARN = AgentCoreSettings().runtime_arn
NOT_HERE = "192.0.2.1"  # TEST-NET-1: no machine has it, so nothing is ever bound on it here


def clawbus(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clawbus.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_network_host_is_refused_without_expose_before_anything_starts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ran = clawbus("up", "--data-dir", str(data), "--host", NOT_HERE, "--aws-port", str(free_port()))
    assert ran.returncode == 2
    [line] = ran.stderr.strip().splitlines()
    assert f"--host {NOT_HERE} would make ingress" in line
    assert "add --expose" in line
    assert not data.exists()  # nothing started, nothing written


def test_expose_says_what_becomes_reachable_and_what_stays_on_loopback(tmp_path: Path) -> None:
    port = free_port()
    ran = clawbus(
        "up", "--data-dir", str(tmp_path), "--host", NOT_HERE, "--expose", "--ingress-port", str(port)
    )
    said = ran.stdout
    assert f"--expose: ingress listens on {NOT_HERE}:{port}" in said
    assert "WebChat (/ and /webchat/api/…), which requires its token" in said
    assert "webhooks (/webhooks/…)" in said
    assert "The AWS API, the AgentCore endpoint and the agent stay on 127.0.0.1" in said
    # (then it stops: this machine has no such address to bind)
    assert ran.returncode == 2
    assert "cannot be bound" in ran.stderr


def test_a_data_dir_every_user_may_write_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp: anyone could plant a state file or swap the credentials
    ran = clawbus(
        "up", "--data-dir", str(shared), "--aws-port", str(free_port()), "--ingress-port", str(free_port())
    )
    assert ran.returncode == 2
    assert f"{shared} is shared (mode 1777)" in ran.stderr
    assert "--data-dir" in ran.stderr
    assert mode(shared) == 0o1777  # a shared directory is not narrowed either
    assert list(shared.iterdir()) == []


def _listening(pid: int) -> dict[int, str]:
    """Port → address of every TCP socket listening in `pid`'s process tree."""
    found: dict[int, str] = {}
    for process in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
        try:
            for conn in process.net_connections(kind="tcp"):
                if conn.status == psutil.CONN_LISTEN:
                    found[conn.laddr.port] = conn.laddr.ip
        except psutil.Error:
            continue
    return found


def test_only_ingress_follows_host_every_secret_is_required_and_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "logs").mkdir(parents=True)
    data.chmod(0o755)  # as an older clawbus left it
    old_log = data / "logs" / "agent.log"
    old_log.write_text("{}\n")
    old_log.chmod(0o644)
    ports = {name: free_port() for name in ("ingress", "agent", "agentcore", "aws")}
    up, shown = start_up(data, ports, "--host", "127.0.0.2")  # loopback, but not where the rest listens
    try:
        listening = _listening(up.pid)
        assert listening[ports["ingress"]] == "127.0.0.2"
        for internal in ("aws", "agent", "agentcore"):
            assert listening[ports[internal]] == "127.0.0.1", internal
        assert f"{data / 'local-aws-credentials'} (this run's AWS key pair" in shown

        aws = f"http://127.0.0.1:{ports['aws']}"
        assert httpx.get(f"{aws}/?Action=ListQueues", timeout=10).status_code == 403
        assert httpx.post(f"{aws}/moto-api/reset", timeout=10).status_code == 401
        turn = {"schema_version": 1, "session_key": "agent:main:main", "reply_id": "r", "events": []}
        invocations = httpx.post(f"http://127.0.0.1:{ports['agent']}/invocations", json=turn, timeout=10)
        assert invocations.status_code == 401
        invoke = httpx.post(
            f"http://127.0.0.1:{ports['agentcore']}/runtimes/{ARN}/invocations", json=turn, timeout=10
        )
        assert invoke.status_code == 403

        # Another terminal, whose AWS_* variables are for AWS: the data directory's pair is used.
        other_terminal = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CLAWBUS_")},
            "AWS_ACCESS_KEY_ID": "AKIAUSERSREALAWSKEY0",
            "AWS_SECRET_ACCESS_KEY": "for-aws-not-for-clawbus",
            "CLAWBUS_LOCAL__DATA_DIR": str(data),
        }
        status = clawbus("status", "--endpoint-url", aws, "--json", env=other_terminal)
        assert status.returncode == 0, status.stderr
        assert "clawbus-inbound.fifo" in {queue["name"] for queue in json.loads(status.stdout)["queues"]}

        assert mode(data) == 0o700
        assert mode(data / "logs") == 0o700
        logs = sorted((data / "logs").glob("*.log"))
        assert len(logs) >= 6
        assert all(mode(log) == 0o600 for log in logs), [(log.name, oct(mode(log))) for log in logs]
        assert mode(data / "local-aws-credentials") == 0o600
        board = wait_for(lambda: (data / "stages.json").exists() and data / "stages.json", what="the board")
        assert mode(board) == 0o600
    finally:
        up.send_signal(signal.SIGTERM)
        rest, _ = up.communicate(timeout=90)
    assert up.returncode == 0, shown + rest
    assert mode(data / "aws-state.pickle") == 0o600
