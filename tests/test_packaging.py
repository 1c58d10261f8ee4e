"""Installing clawbus puts everything under one `clawbus` namespace and nothing generic at top level."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.layout import PACKAGES, ROOT


def test_every_package_folder_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {
        "clawbus." + ".".join(init.parent.relative_to(ROOT).parts)
        for init in ROOT.glob("*/**/__init__.py")
        if init.parts[len(ROOT.parts)] not in ("tests", "build", "infra")
        and not init.parts[len(ROOT.parts)].startswith(".")  # .venv, .venv-checkov, .git …
    }
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages"
    assert listed - on_disk == set(), "these are listed but have no __init__.py"


def test_no_generic_top_level_names_are_importable(tmp_path: Path) -> None:
    # In a fresh interpreter outside the checkout (pytest itself puts the checkout on sys.path).
    # A name counts as ours when the module it resolves to lives in this checkout (editable install) or
    # belongs to the clawbus distribution; other packages may own generic names (python-hcl2 has `cli`).
    probe = (
        "import importlib.util as u, importlib.metadata as m, json, sys; "
        "owners = m.packages_distributions(); root = sys.argv[1]; "
        "print(json.dumps({n: (s := u.find_spec(n)) is not None and ("
        "str(s.origin or '').startswith(root + '/' + n.split('.')[0] + '/') "
        "or 'clawbus' in owners.get(n.split('.')[0], [])) for n in "
        f"{(*PACKAGES, 'clawbus.schemas')!r}}}))"
    )
    found = json.loads(
        subprocess.run(
            [sys.executable, "-c", probe, str(ROOT)], cwd=tmp_path, capture_output=True, text=True, check=True
        ).stdout
    )
    assert found.pop("clawbus.schemas") is True
    assert not any(found.values()), found


def test_every_folder_of_modules_is_a_package() -> None:
    """A folder of modules without `__init__.py` imports from a checkout (a namespace package) but is left
    out of the wheel the images install: `clawbus.agent.engines.openclaw_state` was, so the OpenClaw engine
    failed to start in the agent image while every local test passed."""
    folders = {
        module.parent
        for module in ROOT.glob("*/**/*.py")
        if module.parts[len(ROOT.parts)] not in ("tests", "build", "infra")
        and not module.parts[len(ROOT.parts)].startswith(".")
    }
    missing = sorted(str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").exists())
    assert not missing, f"add an __init__.py (and list them in pyproject.toml) to: {missing}"
