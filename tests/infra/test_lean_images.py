"""Production images carry no moto: it is the `clawbus[local]` extra, for `clawbus up` and the tests.

Read statically: what each Dockerfile installs and what those requirements pull in by the metadata of
this environment. Then, in a process where moto and everything only moto brings cannot be imported, every
production entry point still imports and `clawbus up` says which pip command installs the extra.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from tests.infra._hcl import TERRAFORM

ROOT = TERRAFORM.parents[1]
DOCKERFILES = sorted((ROOT / "infra" / "docker").glob("*.Dockerfile"))
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
ENTRY_POINTS = (
    "clawbus.ingress.lambda_handler",
    "clawbus.egress.lambda_handler",
    "clawbus.egress.main",
    "clawbus.dispatcher.main",
    "clawbus.ingress.relay.main",
    "clawbus.ingress.http",
    "clawbus.agent",
    "clawbus.bus.secret_env",
    "clawbus.cli.main",
)


def _name(requirement: str) -> str:
    return Requirement(requirement).name.lower().replace("_", "-")


def _extras_installed(dockerfile: Path) -> set[str]:
    """The extras of clawbus each `pip install` of the Dockerfile names (`.` / `.[browser]`, ...)."""
    extras: set[str] = set()
    installs = re.findall(r"pip install[^\n]*", dockerfile.read_text("utf-8"))
    assert installs, f"{dockerfile.name} installs nothing"
    for line in installs:
        for group in re.findall(r"\[([a-z, ]+)\]", line):
            extras |= {e.strip() for e in group.split(",")}
    return extras


def _closure(requirements: list[str], extras: set[str]) -> set[str]:
    """Distributions `requirements` pull in (clawbus extras expanded), by the installed metadata."""
    optional = PYPROJECT["project"]["optional-dependencies"]
    todo = list(requirements) + [r for e in extras for r in optional[e]]
    seen: set[str] = set()
    while todo:
        requirement = Requirement(todo.pop())
        name = requirement.name.lower().replace("_", "-")
        if name == "clawbus":
            todo += [r for e in requirement.extras for r in optional[e]]
            continue
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for sub in dist.requires or []:
            parsed = Requirement(sub)
            if parsed.marker is None or any(
                parsed.marker.evaluate({"extra": extra}) for extra in ("", *requirement.extras)
            ):
                todo.append(sub)
    return seen


def test_moto_is_the_local_extra_and_dev_and_test_include_it() -> None:
    assert "moto" not in {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    optional = PYPROJECT["project"]["optional-dependencies"]
    # setproctitle: `up`'s forked stages show in ps as the `clawbus <stage>` they are (cli/stage_forker.py);
    # cheroot serves the loopback AWS API with kept connections (local/aws_server.py).
    assert {_name(r) for r in optional["local"]} == {"moto", "setproctitle", "cheroot"}
    assert "clawbus[local]" in optional["test"]
    assert "clawbus[test]" in optional["dev"]


def test_no_dockerfile_installs_moto() -> None:
    dependencies = PYPROJECT["project"]["dependencies"]
    assert DOCKERFILES
    for dockerfile in DOCKERFILES:
        extras = _extras_installed(dockerfile)
        assert not extras & {"local", "test", "dev"}, f"{dockerfile.name} installs {extras}"
        installed = _closure(dependencies, extras)
        assert not installed & {"moto", "cfn-lint", "sympy"}, f"{dockerfile.name} would carry moto"


def _moto_only_modules() -> set[str]:
    """Top-level import names of the distributions that only moto[server] brings in."""
    production = _closure(PYPROJECT["project"]["dependencies"], {"browser"})
    local = _closure(PYPROJECT["project"]["optional-dependencies"]["local"], set()) - production
    names = set()
    for module, dists in metadata.packages_distributions().items():
        if {d.lower().replace("_", "-") for d in dists} <= local:
            names.add(module)
    assert "moto" in names
    return names


def _without_moto(code: str) -> subprocess.CompletedProcess[str]:
    blocker = (
        "import sys, importlib.abc\n"
        f"BLOCKED = {sorted(_moto_only_modules())!r}\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in BLOCKED:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "        return None\n"
        "sys.meta_path.insert(0, Block())\n"
        "import importlib.util\n"
        "_find = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda n, *a: None if n.split('.')[0] in BLOCKED else _find(n, *a)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAWBUS_")}
    return subprocess.run(
        [sys.executable, "-c", blocker + code], capture_output=True, text=True, env=env, check=False
    )


def test_every_production_entry_point_imports_without_moto() -> None:
    imports = "\n".join(f"import {module}" for module in ENTRY_POINTS)
    result = _without_moto(imports + "\nprint('ok')")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_clawbus_up_without_moto_says_which_pip_command_installs_it(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        f"sys.argv = ['clawbus', 'up', '--data-dir', {str(tmp_path / 'data')!r}]\n"
        "from clawbus.cli.main import main\n"
        "main()\n"
    )
    result = _without_moto(code)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "pip install 'clawbus[local]'" in result.stdout + result.stderr
