"""`clawbus up --engine openclaw` installs Node 24 and OpenClaw once, and says what to run when it cannot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from clawbus.cli.console import Console
from clawbus.cli.openclaw_install import ensure_openclaw
from tests.helpers import free_port


def test_an_existing_install_is_used_as_it_is_without_npm(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    bin_dir = tmp_path / "node_modules" / ".bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "node").touch()
    (bin_dir / "openclaw").touch()
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))  # no npm: it must not be needed
    assert ensure_openclaw(tmp_path, Console()) is False
    assert "installing" not in capsys.readouterr().out


def test_up_with_the_npm_registry_unreachable_names_the_command_to_run(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "npm_config_registry": f"http://127.0.0.1:{free_port()}/",  # nothing listens there
        "npm_config_fetch_retries": "0",
        "npm_config_cache": str(tmp_path / "npm-cache"),  # nothing cached either
        "npm_config_offline": "false",
    }
    env.pop("CLAWBUS_AGENT__OPENCLAW__RUNTIME_DIR", None)
    flags = ("--ingress-port", "--agent-port", "--agentcore-port", "--aws-port")
    ports = [arg for flag in flags for arg in (flag, str(free_port()))]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "clawbus.cli",
            "up",
            "--engine",
            "openclaw",
            "--data-dir",
            str(tmp_path / "d"),
            *ports,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert (
        f"installing Node 24 and openclaw@2026.9.6 into {tmp_path / 'd' / 'openclaw-runtime'}"
        in result.stdout
    )
    assert f"npm install --prefix {tmp_path / 'd' / 'openclaw-runtime'}" in result.stderr
    assert "node@24" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
