"""Spans leave the stages over OTLP when an endpoint is set: one trace per turn, across every process.

The collector is a loopback HTTP server in the test process that decodes what the stages POST to
`/v1/traces` (OTLP/HTTP protobuf), as an ADOT collector would receive it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clawbus.bus.tracing import span_processor
from tests.conftest import Bus, Pipeline, start_pipeline
from tests.helpers import eventually
from tests.otlp_receiver import OtlpReceiver, otlp_receiver
from tests.pipeline.webchat_client import post, replies


@pytest.fixture
def collector() -> Iterator[OtlpReceiver]:
    with otlp_receiver() as receiver:
        yield receiver


@pytest.fixture
def traced_pipeline(bus: Bus, tmp_path: Path, collector: OtlpReceiver) -> Iterator[Pipeline]:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    running = start_pipeline(bus, tmp_path / "logs", env)
    yield running
    codes = running.stop()
    assert all(code == 0 for _, code in codes), codes


async def test_one_trace_crosses_ingress_dispatcher_agent_and_egress(
    traced_pipeline: Pipeline, collector: OtlpReceiver
) -> None:
    async with traced_pipeline.webchat(timeout=30) as client:
        await post(client, "otlp", "trace me")

        async def answered() -> list[dict[str, object]] | None:
            return await replies(client, "otlp") or None

        await eventually(answered, timeout=30, what="the reply")

    wanted = {"clawbus-ingress", "clawbus-dispatcher", "clawbus-agent", "clawbus-egress"}

    async def one_trace_everywhere() -> str | None:
        traces = {trace for _, trace, name in collector.spans() if name == "ingress.receive"}
        return next((t for t in traces if wanted <= collector.services_of(t)), None)

    await eventually(one_trace_everywhere, timeout=20, what=f"one trace with spans of {sorted(wanted)}")


def test_nothing_is_exported_without_an_endpoint() -> None:
    assert span_processor({}) is None
    assert span_processor({"OTEL_EXPORTER_OTLP_ENDPOINT": ""}) is None
    assert span_processor({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}) is not None
