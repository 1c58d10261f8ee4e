"""Node 24 and the pinned OpenClaw for `clawbus up --engine openclaw`, installed once into the data dir.

The pins, paths and the two npm steps are `agent/engines/openclaw/install_layout.py`'s. Already installed
(both binaries present) → nothing runs. npm missing or failing (offline, registry unreachable) →
`ConfigError` naming the commands to run by hand.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

from clawbus.agent.engines.openclaw.install_layout import (
    OPENCLAW_VERSION,
    bin_dir,
    by_hand,
    install_commands,
    installed,
)
from clawbus.bus.errors import ConfigError
from clawbus.cli.console import Console


def ensure_openclaw(root: Path, console: Console) -> bool:
    """Install into `root` unless it is there already; True when it installed."""
    if installed(root):
        return False
    root.mkdir(parents=True, exist_ok=True)
    console.print(
        f"installing Node 24 and openclaw@{OPENCLAW_VERSION} into {root} (npm, about 800 MB, first use only)"
    )
    env = {**os.environ, "PATH": f"{bin_dir(root)}{os.pathsep}{os.environ.get('PATH', '')}"}
    for step, command in enumerate(install_commands(root), start=1):
        console.print(f"  [{step}/2] {shlex.join(command[:2] + command[-1:])}")
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        except FileNotFoundError as exc:
            raise ConfigError(
                f"npm is not installed; install Node.js's npm, then run: {by_hand(root)}"
            ) from exc
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
            raise ConfigError(
                f"npm could not install {command[-1]} (is the npm registry reachable?):\n{tail}\n"
                f"run by hand: {by_hand(root)}"
            )
    if not installed(root):
        raise ConfigError(
            f"npm finished but {root}/node_modules/.bin lacks node or openclaw; run: {by_hand(root)}"
        )
    return True
