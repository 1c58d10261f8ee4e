"""infra/docker/build.sh: each image is built for the architecture AWS runs it on, without provenance.

Lambda refuses an image whose architecture differs from the function's, and an image index carrying
provenance attestations; AgentCore Runtime runs arm64 only. The script's `--dry-run` prints the commands,
which are checked against the architectures the Terraform declares.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from tests.infra._hcl import TERRAFORM, Module, unquote

SCRIPT = TERRAFORM.parent / "docker" / "build.sh"
REPO = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
DOCKER_PLATFORM = {"x86_64": "linux/amd64", "arm64": "linux/arm64"}
FARGATE_ARCH = {"x86_64": "X86_64", "arm64": "ARM64"}


def _dry_run(tfvars: Path) -> dict[str, list[str]]:
    """The `docker buildx build` command per Dockerfile that `build.sh --dry-run` prints."""
    result = subprocess.run(
        [
            str(SCRIPT),
            "--dry-run",
            "--tfvars",
            str(tfvars),
            "--app-repo",
            f"{REPO}/clawbus-app",
            "--agent-repo",
            f"{REPO}/clawbus-agent",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    builds = {}
    for line in result.stdout.splitlines():
        words = shlex.split(line)
        if words[:3] == ["docker", "buildx", "build"]:
            builds[Path(words[words.index("-f") + 1]).name] = words
    return builds


def _platform(words: list[str]) -> str:
    return words[words.index("--platform") + 1]


@pytest.mark.parametrize("architecture", ["x86_64", "arm64", None])
def test_build_script_targets_the_architectures_terraform_declares(
    tf: dict[str, Module], tmp_path: Path, architecture: str | None
) -> None:
    tfvars = tmp_path / "terraform.tfvars"
    setting = f'app_architecture = "{architecture}"\n' if architecture else ""
    tfvars.write_text(f'{setting}app_image_tag = "v7"\nagent_image_tag = "a7"\n')
    declared = architecture or unquote(tf["root"].variables["app_architecture"]["default"])

    builds = _dry_run(tfvars)

    assert set(builds) == {"app.Dockerfile", "agent.Dockerfile"}
    assert _platform(builds["app.Dockerfile"]) == DOCKER_PLATFORM[declared]
    assert _platform(builds["agent.Dockerfile"]) == "linux/arm64"  # AgentCore Runtime
    for words in builds.values():
        assert "--provenance=false" in words
        assert "--push" in words
    assert f"{REPO}/clawbus-app:v7" in builds["app.Dockerfile"]
    assert f"{REPO}/clawbus-agent:a7" in builds["agent.Dockerfile"]


def test_lambdas_and_tasks_run_the_architecture_the_image_is_built_for(tf: dict[str, Module]) -> None:
    compute = tf["compute"]
    assert tf["root"].modules["compute"]["architecture"] == "${var.app_architecture}"
    for function in compute.resources["aws_lambda_function"].values():
        assert function["architectures"] == ["${var.architecture}"]
    arch = compute.locals["ecs_cpu_architecture"]
    for name, task in compute.resources["aws_ecs_task_definition"].items():
        platform = task["runtime_platform"][0]
        assert platform["cpu_architecture"] == "${local.ecs_cpu_architecture}", name
    for lambda_name, fargate_name in FARGATE_ARCH.items():
        assert lambda_name in str(arch)
        assert fargate_name in str(arch)


def test_targeting_the_repositories_creates_only_them_and_their_key(tf: dict[str, Module]) -> None:
    """docs/deploy.md step 2 applies `-target` on the two ECR repositories before the images exist: that
    must create the repositories (and the KMS key that encrypts them), not the roles, tables and bucket a
    module-wide `depends_on` would drag in."""
    for name in ("compute", "agentcore"):
        assert "depends_on" not in tf["root"].modules[name], name
    for module, resource in (("compute", "app"), ("agentcore", "agent")):
        repository = tf[module].resources["aws_ecr_repository"][resource]
        references = str(repository)
        assert "var.kms_key_arn" in references
        assert "${var." in str(repository["name"])
        assert "module." not in references
        assert "local." not in references
