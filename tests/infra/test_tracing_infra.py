"""`tracing = true` has every stage (the Lambdas, the dispatcher and relay tasks, the agent) sign its spans
with its own role and post them straight to X-Ray's OTLP endpoint (SigV4, bus/xray_otlp.py), with
Transaction Search on; no ECS task runs a collector sidecar (its `awsxray` exporter would send our random
W3C trace ids to X-Ray's segment API, which drops them). Off (the default) sets no export mode anywhere, so
no stage exports (bus/tracing.py)."""

from __future__ import annotations

import re

from clawbus.bus.settings import TracingSettings
from tests.infra._hcl import TERRAFORM, load_module, unquote
from tests.infra.iam_rules import iam


def test_tracing_is_a_root_variable_off_by_default_and_reaches_compute() -> None:
    root = load_module(TERRAFORM)
    assert root.variables["tracing"]["default"] is False
    assert unquote(root.modules["compute"]["tracing"]) == "${var.tracing}"


def test_with_tracing_the_ecs_tasks_sign_and_send_their_own_spans_to_xray() -> None:
    compute = load_module(TERRAFORM / "modules" / "compute")
    tracing_env = unquote(compute.locals["tracing_env"])
    match = _XRAY_EXPORT.search(tracing_env)
    assert match is not None
    assert tracing_env == "${" + match[0] + "}"
    assert TracingSettings(export=match["mode"]).export == "xray"  # a value the stage accepts
    for task in ("dispatcher", "relay"):
        containers = unquote(compute.resources["aws_ecs_task_definition"][task]["container_definitions"])
        assert "local.tracing_env" in containers, task
        # One container, the stage itself: no collector sidecar beside it, with or without tracing.
        assert containers.startswith("${jsonencode([{"), containers[:60]
        assert containers.endswith("}])}"), containers[-60:]
        assert len(re.findall(r"\bimage = ", containers)) == 1, task


def test_no_collector_sidecar_or_segment_pipeline_is_left_in_the_terraform() -> None:
    for path in [*TERRAFORM.rglob("*.tf"), TERRAFORM / "terraform.tfvars.example"]:
        text = path.read_text().lower()
        for leftover in ("adot", "aws-otel-collector", "ecs-xray", "localhost:4318"):
            assert leftover not in text, f"{path}: {leftover}"


def test_no_stage_sets_an_otlp_endpoint_or_export_mode_outside_the_tracing_switch() -> None:
    found = 0
    for tf in TERRAFORM.rglob("*.tf"):
        for line in tf.read_text().splitlines():
            if line.strip().startswith(("#", "description")):  # an assignment, not a description
                continue
            # No stage is pointed at a collector: every one signs and sends its own spans.
            assert not re.search(r"\bOTEL_EXPORTER_OTLP_(TRACES_)?ENDPOINT\s*=", line), (
                f"{tf}: {line.strip()}"
            )
            if re.search(r"\bCLAWBUS_TRACING__EXPORT\s*=", line):
                found += 1
                assert "var.tracing ?" in line, f"{tf}: {line.strip()}"
    assert found == 2  # compute's (the Lambdas and the tasks) and the agent's


_XRAY_EXPORT = re.compile(r'var\.tracing \? \{\s*CLAWBUS_TRACING__EXPORT = "(?P<mode>[a-z]+)"\s*\} : \{\}')


def test_with_tracing_the_lambdas_sign_and_send_their_own_spans_to_xray() -> None:
    compute = load_module(TERRAFORM / "modules" / "compute")
    tracing_env = unquote(compute.locals["tracing_env"])
    match = _XRAY_EXPORT.search(tracing_env)
    assert match is not None
    assert tracing_env == "${" + match[0] + "}"
    assert TracingSettings(export=match["mode"]).export == "xray"  # a value the stage accepts
    for function in ("ingress", "egress"):
        env = str(compute.resources["aws_lambda_function"][function]["environment"])
        assert "local.tracing_env" in env, function


def test_with_tracing_the_agent_signs_and_sends_its_own_spans_to_xray() -> None:
    root = load_module(TERRAFORM)
    assert unquote(root.modules["agentcore"]["tracing"]) == "${var.tracing}"
    agentcore = load_module(TERRAFORM / "modules" / "agentcore")
    assert agentcore.variables["tracing"]["default"] is False
    env = str(agentcore.resources["aws_bedrockagentcore_agent_runtime"]["agent"]["environment_variables"])
    match = _XRAY_EXPORT.search(env)
    assert match is not None
    assert TracingSettings(export=match["mode"]).export == "xray"


def test_every_role_that_sends_spans_may_put_them_to_the_otlp_endpoint() -> None:
    for role in ("ingress", "egress", "agent", "dispatcher", "relay"):
        grants = [grant for grant in iam.ROLES[role] if "xray:PutSpans" in grant.actions]
        assert grants, role
        assert {"xray:PutSpans", "xray:PutSpansForIndexing"} <= set(grants[0].actions), role
        assert grants[0].resource == iam.WILDCARD_KIND, role


def test_with_tracing_transaction_search_is_turned_on_so_xray_accepts_otlp_spans() -> None:
    root = load_module(TERRAFORM)
    assert root.variables["transaction_search"]["default"] is True
    assert unquote(root.locals["transaction_search"]) == "${var.tracing && var.transaction_search}"
    destination = root.resources["aws_xray_trace_segment_destination"]["transaction_search"]
    assert unquote(destination["count"]) == "${local.transaction_search ? 1 : 0}"
    assert unquote(destination["destination"]) == "CloudWatchLogs"
    # X-Ray must be allowed to write the aws/spans log group before the destination switches to it.
    assert destination["depends_on"] == ["${aws_cloudwatch_log_resource_policy.transaction_search}"]
    policy = root.resources["aws_cloudwatch_log_resource_policy"]["transaction_search"]
    assert unquote(policy["count"]) == "${local.transaction_search ? 1 : 0}"
    document = root.data["aws_iam_policy_document"]["transaction_search"]["statement"][0]
    assert [unquote(a) for a in document["actions"]] == ["logs:PutLogEvents"]
    assert [unquote(i) for i in document["principals"][0]["identifiers"]] == ["xray.amazonaws.com"]
    assert "${local.log_group_arn_prefix}aws/spans:*" in [unquote(r) for r in document["resources"]]


def test_the_task_roles_no_longer_hold_the_segment_api_nothing_in_them_calls() -> None:
    """Least privilege: the tasks' spans go to the OTLP endpoint; only the Lambdas' active tracing and
    AgentCore Runtime still send segments."""
    for role in ("dispatcher", "relay"):
        actions = {action for grant in iam.ROLES[role] for action in grant.actions}
        assert not actions & {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}, role
