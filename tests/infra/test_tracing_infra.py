"""`tracing = true` sends the long-running tasks' spans to X-Ray through an ADOT collector sidecar, and the
Lambdas' and the agent's straight to X-Ray's OTLP endpoint (SigV4, bus/xray_otlp.py) with Transaction Search
on; off (the default) sets no OTLP endpoint and no export mode anywhere, so no stage exports
(bus/tracing.py)."""

from __future__ import annotations

import re

from clawbus.bus import iam
from clawbus.bus.settings import TracingSettings

from ._hcl import TERRAFORM, load_module, unquote


def test_tracing_is_a_root_variable_off_by_default_and_reaches_compute() -> None:
    root = load_module(TERRAFORM)
    assert root.variables["tracing"]["default"] is False
    assert unquote(root.modules["compute"]["tracing"]) == "${var.tracing}"


def test_with_tracing_each_task_exports_to_its_own_collector_sidecar() -> None:
    compute = load_module(TERRAFORM / "modules" / "compute")
    otel = str(compute.locals["otel_env"])
    assert "var.tracing ?" in otel
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in otel
    assert "http://localhost:4318" in otel
    for task in ("dispatcher", "relay"):
        containers = str(compute.resources["aws_ecs_task_definition"][task]["container_definitions"])
        assert "local.otel_env" in containers
        assert f'var.tracing ? [local.adot_sidecar["{task}"]] : []' in containers
    sidecar = str(compute.locals["adot_sidecar"])
    assert "ecs-xray.yaml" in sidecar  # the collector's X-Ray pipeline: OTLP in, X-Ray out


def test_no_stage_sets_an_otlp_endpoint_or_export_mode_outside_the_tracing_switch() -> None:
    found = 0
    for tf in TERRAFORM.rglob("*.tf"):
        for line in tf.read_text().splitlines():
            if line.strip().startswith(("#", "description")):  # an assignment, not a description
                continue
            if re.search(r"\b(OTEL_EXPORTER_OTLP_ENDPOINT|CLAWBUS_TRACING__EXPORT)\s*=", line):
                found += 1
                assert "var.tracing ?" in line, f"{tf}: {line.strip()}"
    assert found >= 3  # the tasks' endpoint, the Lambdas' and the agent's export mode


_XRAY_EXPORT = re.compile(r'var\.tracing \? \{\s*CLAWBUS_TRACING__EXPORT = "(?P<mode>[a-z]+)"\s*\} : \{\}')


def test_with_tracing_the_lambdas_sign_and_send_their_own_spans_to_xray() -> None:
    compute = load_module(TERRAFORM / "modules" / "compute")
    match = _XRAY_EXPORT.search(str(compute.locals["lambda_tracing_env"]))
    assert match is not None
    assert TracingSettings(export=match["mode"]).export == "xray"  # a value the stage accepts
    for function in ("ingress", "egress"):
        env = str(compute.resources["aws_lambda_function"][function]["environment"])
        assert "local.lambda_tracing_env" in env, function


def test_with_tracing_the_agent_signs_and_sends_its_own_spans_to_xray() -> None:
    root = load_module(TERRAFORM)
    assert unquote(root.modules["agentcore"]["tracing"]) == "${var.tracing}"
    agentcore = load_module(TERRAFORM / "modules" / "agentcore")
    assert agentcore.variables["tracing"]["default"] is False
    env = str(agentcore.resources["aws_bedrockagentcore_agent_runtime"]["agent"]["environment_variables"])
    match = _XRAY_EXPORT.search(env)
    assert match is not None
    assert TracingSettings(export=match["mode"]).export == "xray"


def test_the_roles_that_send_spans_themselves_may_put_them_to_the_otlp_endpoint() -> None:
    for role in ("ingress", "egress", "agent"):
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


def test_the_task_roles_may_send_the_sidecars_spans_to_xray() -> None:
    for role in ("dispatcher", "relay"):
        actions = {action for grant in iam.ROLES[role] for action in grant.actions}
        assert {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} <= actions, role
