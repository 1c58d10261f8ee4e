"""Every setting a stage reads at start is set in its Terraform environment (or, for the agent, by its image's
ENV), or its default is right in AWS.

A default made for the embedded pipeline (a loopback host, the local stand-in's runtime ARN, `clawbus` as
the prefix) is wrong in a deployment: a stage that falls back to it starts, then talks to nothing. The
region is the one setting every stage needs and none sets: its default is the standard AWS environment
(AWS_REGION, which Lambda, ECS and AgentCore Runtime set), checked here and in tests/bus.
"""

from __future__ import annotations

import re

import pytest

from clawbus.bus.settings import Settings
from clawbus.cli.config_cmd import _walk
from tests.infra._dockerfile import DOCKER, env, stages
from tests.infra._hcl import Module

# A name assigned in HCL text (`NAME = v`) or a key of a parsed map (`'NAME': v`).
_ENV_NAME = re.compile(r"\b(CLAWBUS_[A-Z0-9_]+)'?\s*[=:]")

# Settings each stage reads at start whose default is wrong in AWS, with the reason.
_DEPLOYMENT = {
    "CLAWBUS_BUS__PREFIX": "every resource is named <prefix>-…; var.prefix need not be 'clawbus'",
    "CLAWBUS_BUS__BUCKET": "bucket names are global: the default <prefix>-state may belong to someone else",
}
NEEDS: dict[str, dict[str, str]] = {
    "ingress": {**_DEPLOYMENT, "CLAWBUS_SECRET_IDS": "the channel credentials (bus.secret_env)"},
    "relay": {**_DEPLOYMENT, "CLAWBUS_SECRET_IDS": "the channel credentials (bus.secret_env)"},
    "egress": {**_DEPLOYMENT, "CLAWBUS_SECRET_IDS": "the channel's credentials (bus.secret_env)"},
    "dispatcher": {
        **_DEPLOYMENT,
        "CLAWBUS_AGENTCORE__RUNTIME_ARN": "the default is the embedded stand-in's ARN",
        "CLAWBUS_AGENTCORE__QUALIFIER": "the runtime's endpoint (live, or the one brought)",
    },
    "agent": {
        **_DEPLOYMENT,
        "CLAWBUS_AGENT__HOST": "AgentCore Runtime reaches the container on 0.0.0.0, not loopback",
        "CLAWBUS_AGENT__PORT": "AgentCore Runtime's contract is port 8080",
        "CLAWBUS_SCHEDULER__ROLE_ARN": "the cron tool's schedules run as the scheduler role",
        "CLAWBUS_SCHEDULER__DEAD_LETTER_ARN": "the cron tool's schedules dead-letter to the scheduler DLQ",
        "CLAWBUS_AGENT__ENGINE": "native is the embedded demo's default; a deployment chooses (agent_engine)",
        "CLAWBUS_AGENT__OPENCLAW__RUNTIME_DIR": "unset, Node 24 + OpenClaw are looked for under ~/.clawbus, "
        "where `clawbus up` installs them; the image carries them elsewhere",
        "CLAWBUS_AGENT__OPENCLAW__STATE_DIR": "unset, under ~/.clawbus: the agent's user has no home; the "
        "microVM's writable scratch is /tmp",
    },
}
# Settings whose default points at this machine and that no deployed stage reads, with the reason.
LOCAL_ONLY = {
    "CLAWBUS_AGENTCORE__AGENT_URL": "the embedded AgentCore stand-in's agent (clawbus up)",
    "CLAWBUS_AGENTCORE__HOST": "the embedded AgentCore stand-in's own address",
    "CLAWBUS_AGENT__WORKSPACE__DIR": "AGENT__WORKSPACE__BACKEND=local only; AWS uses s3 (the default)",
    "CLAWBUS_SESSION__DIR": "SESSION__TRANSCRIPTS=local only; AWS uses dynamodb (the default)",
    "CLAWBUS_INGRESS__HOST": "the long-running ingress server of clawbus up; Lambda binds nothing",
    "CLAWBUS_LOCAL__AWS_HOST": "the embedded AWS API",
    "CLAWBUS_LOCAL__DATA_DIR": "the embedded default's data directory",
}
_LOCAL_DEFAULT = re.compile(r"127\.0\.0\.1|localhost|:000000000000:|^~")


def _names(text: str, module: Module) -> set[str]:
    found = set(_ENV_NAME.findall(text))
    for local in re.findall(r"\blocal\.(\w+)", text):
        if local in module.locals:
            found |= _names(str(module.locals[local]), module)
    return found


def stage_env(tf: dict[str, Module]) -> dict[str, set[str]]:
    """stage -> the CLAWBUS_* names its Terraform environment sets."""
    compute, agentcore = tf["compute"], tf["agentcore"]
    functions = compute.resources["aws_lambda_function"]
    tasks = compute.resources["aws_ecs_task_definition"]
    runtime = agentcore.resources["aws_bedrockagentcore_agent_runtime"]["agent"]
    return {
        "ingress": _names(str(functions["ingress"]["environment"]), compute),
        "egress": _names(str(functions["egress"]["environment"]), compute),
        "dispatcher": _names(str(tasks["dispatcher"]["container_definitions"]), compute),
        "relay": _names(str(tasks["relay"]["container_definitions"]), compute),
        "agent": _names(str(runtime["environment_variables"]), agentcore) | set(_agent_image_env()),
    }


def _agent_image_env() -> dict[str, str]:
    """The CLAWBUS_* the agent image's ENV sets: AgentCore Runtime adds its environment to them."""
    image = env(stages(DOCKER / "agent.Dockerfile")["final"])
    return {name: value for name, value in image.items() if name.startswith("CLAWBUS_")}


def test_a_stage_without_clawbus_region_uses_the_region_aws_gives_it(
    tf: dict[str, Module], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agent's Terraform sets no CLAWBUS_AWS__REGION: AgentCore's AWS_REGION must be what it uses."""
    unset = [stage for stage, names in stage_env(tf).items() if "CLAWBUS_AWS__REGION" not in names]
    assert "agent" in unset
    for name in ("CLAWBUS_AWS__REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    for stage in unset:
        assert Settings().aws.region == "eu-west-1", f"the {stage} stage would talk to another region"


def test_every_stage_gets_the_settings_whose_default_is_wrong_in_aws(tf: dict[str, Module]) -> None:
    env = stage_env(tf)
    assert set(env) == set(NEEDS)
    for stage, needed in NEEDS.items():
        missing = set(needed) - env[stage]
        assert not missing, f"the {stage} stage's Terraform environment does not set {sorted(missing)}"


def test_every_default_that_points_at_this_machine_is_set_in_aws_or_local_only() -> None:
    needed = {name for names in NEEDS.values() for name in names}
    local = {env for env, default, _ in _walk(Settings) if _LOCAL_DEFAULT.search(default)}
    unexplained = local - needed - set(LOCAL_ONLY)
    assert not unexplained, f"defaults for this machine, unset in AWS and not listed: {sorted(unexplained)}"
    assert set(LOCAL_ONLY) <= local, "LOCAL_ONLY lists settings whose default is not local"
