"""`tracing = true` sends the long-running tasks' spans to X-Ray through an ADOT collector sidecar; off
(the default) sets no OTLP endpoint anywhere, so no stage exports (bus/tracing.py)."""

from __future__ import annotations

import re

from clawbus.bus import iam

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


def test_no_stage_sets_an_otlp_endpoint_outside_the_tracing_switch() -> None:
    for tf in TERRAFORM.rglob("*.tf"):
        for line in tf.read_text().splitlines():
            if re.search(r"\bOTEL_EXPORTER_OTLP_ENDPOINT\s*=", line):  # an assignment, not a description
                assert "var.tracing ?" in line, f"{tf}: {line.strip()}"


def test_the_task_roles_may_send_the_sidecars_spans_to_xray() -> None:
    for role in ("dispatcher", "relay"):
        actions = {action for grant in iam.ROLES[role] for action in grant.actions}
        assert {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} <= actions, role
