"""The agent image carries both engines: Node 24 and the pinned OpenClaw, installed by install_layout.py.

No Docker daemon here, so the Dockerfile is read as text, stage by stage, the way `docker build` would run
it: the `openclaw` stage runs agent/engines/openclaw/install_layout.py (the pins' one place), the final
stage copies what it installed to the path its ENV gives the engine, and `build.sh --dry-run` prints the
same install line. The pins appear nowhere else, so the image cannot install another version.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from clawbus.agent.engines.openclaw import install_layout
from clawbus.bus.settings import Settings
from tests.infra._dockerfile import DOCKER, env, stages
from tests.infra._hcl import TERRAFORM

ROOT = TERRAFORM.parents[1]
DOCKERFILE = DOCKER / "agent.Dockerfile"
SCRIPT = DOCKER / "build.sh"
LAYOUT = ROOT / "agent" / "engines" / "openclaw" / "install_layout.py"


def _printed_install(root: str) -> str:
    """What `python install_layout.py ROOT` prints on its own: stdlib only, from outside the checkout."""
    result = subprocess.run(
        [sys.executable, "-I", str(LAYOUT), root], capture_output=True, text=True, check=True, cwd="/"
    )
    return result.stdout.strip()


def test_the_openclaw_stage_installs_what_install_layout_prints() -> None:
    stage = stages(DOCKERFILE)["openclaw"]
    copies = [args.split() for instruction, args in stage if instruction == "COPY"]
    plan = next(dest for *sources, dest in copies if sources == ["agent/engines/openclaw/install_layout.py"])
    runs = " && ".join(args for instruction, args in stage if instruction == "RUN")
    invoked = re.search(rf"python {re.escape(plan)} (/\S+) > (\S+) && sh -eux? (\S+)", runs)
    assert invoked, f"the openclaw stage does not run {plan} and its output: {runs}"
    root, script, ran = invoked.groups()
    assert script == ran

    line = _printed_install(root)

    assert line == install_layout.by_hand(Path(root))
    assert install_layout.NODE_SPEC in line
    assert f"openclaw@{install_layout.OPENCLAW_VERSION}" in line
    # Both npm steps, Node first, then OpenClaw with the pinned Node's bin dir first on PATH.
    assert line.index(install_layout.NODE_SPEC) < line.index(f"PATH={root}/node_modules/.bin:")
    assert "npm" in runs.split("apt-get install", 1)[1], "the stage has no npm to run the install with"


def test_the_pins_are_written_only_in_install_layout() -> None:
    text = DOCKERFILE.read_text("utf-8") + SCRIPT.read_text("utf-8")
    for pin in (install_layout.OPENCLAW_VERSION, install_layout.NODE_SPEC.split("@", 1)[1]):
        assert pin not in text, f"{pin} is written in the Dockerfile or build.sh: it would drift"


def test_the_final_image_runs_the_engine_from_what_the_stage_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    final = stages(DOCKERFILE)["final"]
    image_env = env(final)
    runtime = image_env["CLAWBUS_AGENT__OPENCLAW__RUNTIME_DIR"]
    runs = " ".join(args for instruction, args in stages(DOCKERFILE)["openclaw"] if instruction == "RUN")
    installed = re.search(r"python \S+ (/\S+) >", runs)
    assert installed
    assert installed.group(1) == runtime, "the engine's runtime dir is not where the stage installs"
    copied = [args.split()[1:] for instruction, args in final if args.startswith("--from=openclaw ")]
    assert copied == [[runtime, runtime]], "the final image does not carry the openclaw stage's install"

    for name, value in image_env.items():  # the image's ENV names are settings the agent reads
        monkeypatch.setenv(name, value)
    openclaw = Settings().agent.openclaw
    assert openclaw.runtime_dir == Path(runtime)
    assert openclaw.state_dir == Path(image_env["CLAWBUS_AGENT__OPENCLAW__STATE_DIR"])


def test_state_and_home_are_on_the_writable_scratch_and_the_runtime_is_not() -> None:
    final = stages(DOCKERFILE)["final"]
    image_env = env(final)
    user = [args for instruction, args in final if instruction == "USER"]
    assert user
    assert user[-1] not in ("0", "root"), "the agent runs as root"
    scratch = PurePosixPath("/tmp")
    state = PurePosixPath(image_env["CLAWBUS_AGENT__OPENCLAW__STATE_DIR"])
    assert state.is_relative_to(scratch)
    assert state != scratch
    assert PurePosixPath(image_env["HOME"]).is_relative_to(scratch), "the agent user's HOME does not exist"
    assert not PurePosixPath(image_env["CLAWBUS_AGENT__OPENCLAW__RUNTIME_DIR"]).is_relative_to(scratch)


def test_the_image_leaves_the_engine_to_the_runtime() -> None:
    """Both engines are in the image; Terraform's agent_engine sets CLAWBUS_AGENT__ENGINE per deployment."""
    for stage in stages(DOCKERFILE).values():
        assert "CLAWBUS_AGENT__ENGINE" not in env(stage)


@pytest.mark.parametrize("only", ["agent", None])
def test_build_dry_run_shows_the_engine_install(only: str | None) -> None:
    repos = ["--agent-repo", "123456789012.dkr.ecr.us-east-1.amazonaws.com/a", "--agent-tag", "a1"]
    repos += ["--app-repo", "123456789012.dkr.ecr.us-east-1.amazonaws.com/b", "--app-tag", "b1"]
    extra = ["--only", only] if only else []
    result = subprocess.run(
        [str(SCRIPT), "--dry-run", "--tfvars", "/nonexistent.tfvars", *extra, *repos],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    root = env(stages(DOCKERFILE)["final"])["CLAWBUS_AGENT__OPENCLAW__RUNTIME_DIR"]
    shown = f"# agent image, OpenClaw engine: {install_layout.by_hand(Path(root))}"
    assert shown in result.stdout.splitlines()
