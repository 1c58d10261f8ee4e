"""Node 24 and the pinned OpenClaw for `clawbus up --engine openclaw`, installed once into the data dir.

Two npm steps, because OpenClaw's preinstall refuses the system's older Node: `node@24` first (npm's `node`
package ships the Node 24 binary into `node_modules/.bin`), then `openclaw@<pin>` with that bin directory
first on PATH. Already installed (both binaries present) → nothing runs. npm missing or failing (offline,
registry unreachable) → `ConfigError` naming the commands to run by hand.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

from clawbus.bus.errors import ConfigError

from .console import Console

OPENCLAW_VERSION = "2026.9.6"
NODE_SPEC = "node@24"
_NPM_FLAGS = ("--no-audit", "--no-fund", "--loglevel=error")


def installed(root: Path) -> bool:
    """Whether `root` holds both binaries the engine runs."""
    bin_dir = root / "node_modules" / ".bin"
    return (bin_dir / "node").exists() and (bin_dir / "openclaw").exists()


def install_commands(root: Path) -> list[list[str]]:
    """The npm commands that install Node 24, then OpenClaw, into `root`."""
    return [
        ["npm", "install", "--prefix", str(root), *_NPM_FLAGS, NODE_SPEC],
        ["npm", "install", "--prefix", str(root), *_NPM_FLAGS, f"openclaw@{OPENCLAW_VERSION}"],
    ]


def _by_hand(root: Path) -> str:
    first, second = (shlex.join(c) for c in install_commands(root))
    return f"{first} && PATH={shlex.quote(str(root / 'node_modules' / '.bin'))}:$PATH {second}"


def ensure_openclaw(root: Path, console: Console) -> bool:
    """Install into `root` unless it is there already; True when it installed."""
    if installed(root):
        return False
    root.mkdir(parents=True, exist_ok=True)
    console.print(
        f"installing Node 24 and openclaw@{OPENCLAW_VERSION} into {root} (npm, about 800 MB, first use only)"
    )
    env = {**os.environ, "PATH": f"{root / 'node_modules' / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    for step, command in enumerate(install_commands(root), start=1):
        console.print(f"  [{step}/2] {shlex.join(command[:2] + command[-1:])}")
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        except FileNotFoundError as exc:
            raise ConfigError(
                f"npm is not installed; install Node.js's npm, then run: {_by_hand(root)}"
            ) from exc
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
            raise ConfigError(
                f"npm could not install {command[-1]} (is the npm registry reachable?):\n{tail}\n"
                f"run by hand: {_by_hand(root)}"
            )
    if not installed(root):
        raise ConfigError(
            f"npm finished but {root}/node_modules/.bin lacks node or openclaw; run: {_by_hand(root)}"
        )
    return True
