"""The code stays ruff- and mypy-clean (strict), checked as part of the suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.layout import PACKAGES, ROOT


def test_ruff_finds_nothing() -> None:
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_mypy_strict_finds_nothing(tmp_path: Path) -> None:
    # The folders install as `clawbus.<name>`; mypy sees them that way through a tree of links.
    tree = tmp_path / "clawbus"
    tree.mkdir()
    for name in PACKAGES:
        (tree / name).symlink_to(ROOT / name, target_is_directory=True)
    # infra/iam.py (the roles' grants) is a script beside the Terraform, checked as a file of its own.
    for target in (["-p", "clawbus"], [str(ROOT / "infra" / "iam.py")]):
        result = subprocess.run(
            [sys.executable, "-m", "mypy", *target, "--config-file", str(ROOT / "pyproject.toml")],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr
