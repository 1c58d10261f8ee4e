"""The code stays ruff- and mypy-clean (strict), checked as part of the suite."""

from __future__ import annotations

import subprocess
import sys

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


def test_mypy_strict_finds_nothing() -> None:
    # The folders install as `clawbus.<name>`; mypy sees them that way through a tree of links, and
    # infra/iam.py (the roles' grants, a script beside the Terraform) as the module `iam` beside it. The
    # tree and mypy's cache stay in .mypy_cache/ (git-ignored) at the same paths from run to run, so a
    # clean clone checks everything once (about 30 CPU-s) and a later run only what changed (about 1).
    cache = ROOT / ".mypy_cache"
    tree = cache / "tree"
    links = {tree / "clawbus" / name: ROOT / name for name in PACKAGES} | {
        tree / "iam.py": ROOT / "infra/iam.py"
    }
    (tree / "clawbus").mkdir(parents=True, exist_ok=True)
    for stale in (tree / "clawbus").iterdir():  # a folder no longer in the package list
        if stale not in links:
            stale.unlink()
    for link, target in links.items():
        if not (link.is_symlink() and link.readlink() == target):
            link.unlink(missing_ok=True)
            link.symlink_to(target)
    config = ["--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(cache)]
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "-p", "clawbus", "-m", "iam", *config],
        cwd=tree,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
