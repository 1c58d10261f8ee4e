"""The docs say what the code does."""

from __future__ import annotations

from pathlib import Path

from clawbus.cli.config_cmd import env_table

ROOT = Path(__file__).resolve().parent.parent


def test_the_configuration_page_lists_every_setting_as_the_code_has_it() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text()
    assert env_table() in page, "regenerate the table: clawbus config env"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = next(line for line in ci.splitlines() if line.startswith("python3 -m venv"))
    assert command in readme
