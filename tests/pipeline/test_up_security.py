"""What `clawbus up` lets other people reach on the user's machine: its files are the user's alone."""

from __future__ import annotations

import signal
import stat
from pathlib import Path

from ..helpers import free_port, start_up, wait_for


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_up_keeps_its_data_directory_and_everything_in_it_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "logs").mkdir(parents=True)
    data.chmod(0o755)  # as an older clawbus left it
    old_log = data / "logs" / "agent.log"
    old_log.write_text("{}\n")
    old_log.chmod(0o644)
    ports = {name: free_port() for name in ("ingress", "agent", "agentcore", "aws")}
    up, shown = start_up(data, ports)
    try:
        assert mode(data) == 0o700
        assert mode(data / "logs") == 0o700
        logs = sorted((data / "logs").glob("*.log"))
        assert len(logs) >= 6
        assert all(mode(log) == 0o600 for log in logs), [(log.name, oct(mode(log))) for log in logs]
        board = wait_for(lambda: (data / "stages.json").exists() and data / "stages.json", what="the board")
        assert mode(board) == 0o600
    finally:
        up.send_signal(signal.SIGTERM)
        rest, _ = up.communicate(timeout=90)
    assert up.returncode == 0, shown + rest
    assert mode(data / "aws-state.pickle") == 0o600
