"""docs/deploy.md names only files that exist and `clawbus` command lines the CLI accepts.

A reader following the page from an empty account trips over a path that is not there or a flag the CLI
refuses; both are checked here, the way a reader would meet them.
"""

from __future__ import annotations

import re
import shlex

import pytest

from clawbus.cli.main import build_parser
from tests.infra._hcl import TERRAFORM

ROOT = TERRAFORM.parents[1]
DEPLOY_MD = ROOT / "docs" / "deploy.md"
# Files the reader makes or that live in the image, not in the repository.
NOT_IN_REPO = {"terraform.tfvars", "infra/terraform/terraform.tfvars", "/lambda-entrypoint.sh"}
_FILE = re.compile(r"[A-Za-z0-9_./-]+\.(?:md|py|tf|sh|json|example|Dockerfile|tfvars)\b")
_DIR = re.compile(r"`((?:bus|infra|tests|docs|modules|cli|ingress|egress|dispatcher|agent|schemas)/[^`\s]*)`")
_PLACEHOLDER = re.compile(r"<[^>]+>")


def _named_paths() -> set[str]:
    text = DEPLOY_MD.read_text("utf-8")
    return ({m.group(0) for m in _FILE.finditer(text)} | set(_DIR.findall(text))) - NOT_IN_REPO


def test_every_path_deploy_md_names_exists() -> None:
    missing = [
        path
        for path in sorted(_named_paths())
        if not any((base / path).exists() for base in (ROOT, TERRAFORM, ROOT / "docs"))
    ]
    assert not missing, f"docs/deploy.md names files that do not exist: {missing}"


def _clawbus_lines() -> list[str]:
    lines = []
    for line in DEPLOY_MD.read_text("utf-8").splitlines():
        command = line.split("#", 1)[0].strip()
        if command.startswith("clawbus "):
            lines.append(_PLACEHOLDER.sub("x", command))
    return lines


def test_deploy_md_has_clawbus_commands() -> None:
    assert len(_clawbus_lines()) >= 4


@pytest.mark.parametrize("line", _clawbus_lines())
def test_every_clawbus_command_line_parses(line: str) -> None:
    try:
        build_parser().parse_args(shlex.split(line)[1:])
    except SystemExit as exc:  # argparse's usage error
        pytest.fail(f"docs/deploy.md: `{line}` is refused by the CLI (exit {exc.code})")
