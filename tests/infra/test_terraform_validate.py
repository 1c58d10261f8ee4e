"""`terraform validate` over the whole configuration, when this machine has the binary and a local copy of
the AWS provider (no registry downloads here).

`terraform validate` type-checks every expression and evaluates variable validations with the values it
knows, which the static HCL reading (`_hcl.py`) cannot: a list compared with a tuple literal, an argument a
resource does not take, a module input that no longer exists. A provider mirror older than the configured
constraint is used anyway, with the constraint relaxed to it, and then the only accepted diagnostics are
the resource types that provider version does not know yet (named below, each the reason for the newer
constraint in versions.tf).

The mirror is `TERRAFORM_PROVIDER_MIRROR` (a `terraform providers mirror` directory), else
/opt/tf-plugins when it exists; without one the test is skipped with that reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.infra._hcl import TERRAFORM

_AWS = Path("registry.terraform.io") / "hashicorp" / "aws"
_CONSTRAINT = re.compile(r'version = ">= (?P<low>[0-9.]+), < 7\.0\.0"')
# Resource types newer than some provider 6.x/5.x a mirror may hold, and the version that brought them.
_NEWER_THAN_MIRROR = {
    "aws_bedrockagentcore_agent_runtime": (6, 18, 0),
    "aws_bedrockagentcore_agent_runtime_endpoint": (6, 18, 0),
    "aws_xray_trace_segment_destination": (6, 47, 0),
}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def _mirror() -> tuple[Path, str]:
    if shutil.which("terraform") is None:
        pytest.skip("the terraform binary is not on PATH")
    mirror = Path(os.environ.get("TERRAFORM_PROVIDER_MIRROR", "/opt/tf-plugins"))
    versions = sorted((p.name for p in (mirror / _AWS).glob("*.*.*")), key=_version)
    if not versions:
        pytest.skip(f"no hashicorp/aws provider under {mirror} (set TERRAFORM_PROVIDER_MIRROR)")
    return mirror, versions[-1]


def test_terraform_validate_finds_nothing_but_resources_newer_than_the_mirrors_provider(
    tmp_path: Path,
) -> None:
    mirror, version = _mirror()
    work = tmp_path / "terraform"
    shutil.copytree(TERRAFORM, work, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    versions_tf = (work / "versions.tf").read_text()
    constraint = _CONSTRAINT.search(versions_tf)
    assert constraint is not None, "versions.tf: the aws provider constraint changed shape"
    (work / "versions.tf").write_text(versions_tf.replace(constraint[0], f'version = "{version}"'))
    cli_config = tmp_path / "terraformrc"
    cli_config.write_text(f'provider_installation {{\n  filesystem_mirror {{ path = "{mirror}" }}\n}}\n')
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(cli_config), "TF_IN_AUTOMATION": "1"}
    env.pop("TF_PLUGIN_CACHE_DIR", None)

    init = subprocess.run(
        ["terraform", "init", "-backend=false", "-input=false", "-no-color"],
        cwd=work, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert init.returncode == 0, init.stdout + init.stderr
    validate = subprocess.run(
        ["terraform", "validate", "-json", "-no-color"],
        cwd=work, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    diagnostics = json.loads(validate.stdout)["diagnostics"]

    too_new = {name for name, since in _NEWER_THAN_MIRROR.items() if _version(version) < since}
    unexpected = [
        f"{d['summary']}: {d.get('detail', '')} ({d.get('range', {}).get('filename')})"
        for d in diagnostics
        if not (
            d["summary"] == "Invalid resource type" and any(f'"{name}"' in d["detail"] for name in too_new)
        )
    ]
    assert not unexpected, "\n".join(unexpected)
