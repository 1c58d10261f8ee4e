"""Where Node 24 and the pinned OpenClaw live under an install root, and the npm commands that put them
there: one place for the pins and paths that `clawbus up --engine openclaw` installs by and the engine
runs by (and that `.ci/run` runs).

Two npm steps, because OpenClaw's preinstall refuses an older system Node: the `node` package first (it
ships the Node 24 binary into `node_modules/.bin`), then OpenClaw with that bin directory first on PATH.
Pure: paths and argument lists. Run as a script (`python install_layout.py ROOT`), it prints `by_hand(ROOT)`:
that is how the agent image (infra/docker/agent.Dockerfile) and `infra/docker/build.sh` get the install,
from this file alone and a bare Python (no clawbus installed there), so the image cannot drift from it.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

OPENCLAW_VERSION = "2026.9.6"
NODE_SPEC = "node@24.21.0"
NPM_FLAGS = ("--no-audit", "--no-fund", "--loglevel=error")


def bin_dir(root: Path) -> Path:
    """The directory holding `node` and `openclaw` under an install root."""
    return root / "node_modules" / ".bin"


def installed(root: Path) -> bool:
    """Whether `root` holds both binaries the engine runs."""
    return (bin_dir(root) / "node").exists() and (bin_dir(root) / "openclaw").exists()


def install_commands(root: Path) -> list[list[str]]:
    """The npm commands that install Node 24, then OpenClaw, into `root` (the second with `bin_dir(root)`
    first on PATH)."""
    return [
        ["npm", "install", "--prefix", str(root), *NPM_FLAGS, NODE_SPEC],
        ["npm", "install", "--prefix", str(root), *NPM_FLAGS, f"openclaw@{OPENCLAW_VERSION}"],
    ]


def by_hand(root: Path) -> str:
    """The install as one shell line a user can paste."""
    first, second = (shlex.join(c) for c in install_commands(root))
    return f"{first} && PATH={shlex.quote(str(bin_dir(root)))}:$PATH {second}"


if __name__ == "__main__":  # the image build's entry: stdlib only, see the module docstring
    if len(sys.argv) != 2:
        sys.exit("usage: python install_layout.py INSTALL_ROOT")
    print(by_hand(Path(sys.argv[1])))
