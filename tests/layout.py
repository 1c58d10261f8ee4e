"""The repository's shape in one place: its top-level packages and the layers they sit in.

The tests that walk the tree (quality, packaging, state access, IAM, layers) read these lists, so a new
top-level folder is named once, in pyproject.toml and in `LAYERS`, and every check sees it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Lowest first. A module may import its own package and the layers below it, never above; the packages
# within one layer never import each other (the stages are peers that only meet on the bus).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("schemas",),
    ("bus",),
    ("storage",),
    ("openclaw",),
    ("channels",),
    ("ingress", "dispatcher", "egress", "agent", "scheduler"),
    ("local",),
    ("cli",),
)


def _top_level_packages() -> tuple[str, ...]:
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    return tuple(dict.fromkeys(name.split(".")[1] for name in listed))


PACKAGES: tuple[str, ...] = _top_level_packages()
STAGES: tuple[str, ...] = ("ingress", "dispatcher", "egress", "agent", "scheduler")


def package_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))
