"""Spans leave the stages over OTLP when an endpoint is set: one trace per turn, across every process.

The collector is a loopback HTTP server in the test process that decodes what the stages POST to
`/v1/traces` (OTLP/HTTP protobuf), as an ADOT collector would receive it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from clawbus.bus.tracing import span_processor

from ..conftest import Bus, Pipeline, start_pipeline
from ..helpers import eventually
from .webchat_client import post, replies


class Collector:
    """Every span received, as (service.name, trace id hex, span name)."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()

    def receive(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        with self._lock:
            for resource_spans in request.resource_spans:
                attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                service = attributes.get("service.name", "")
                for scope in resource_spans.scope_spans:
                    self.spans.extend((service, span.trace_id.hex(), span.name) for span in scope.spans)

    def services_of(self, trace_id: str) -> set[str]:
        with self._lock:
            return {service for service, trace, _ in self.spans if trace == trace_id}


@pytest.fixture
def collector() -> Iterator[tuple[Collector, str]]:
    found = Collector()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path == "/v1/traces":
                found.receive(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def traced_pipeline(bus: Bus, tmp_path: Path, collector: tuple[Collector, str]) -> Iterator[Pipeline]:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector[1], "OTEL_BSP_SCHEDULE_DELAY": "100"}
    running = start_pipeline(bus, tmp_path / "logs", env)
    yield running
    codes = running.stop()
    assert all(code == 0 for _, code in codes), codes


async def test_one_trace_crosses_ingress_dispatcher_agent_and_egress(
    traced_pipeline: Pipeline, collector: tuple[Collector, str]
) -> None:
    found, _ = collector
    async with traced_pipeline.webchat(timeout=30) as client:
        await post(client, "otlp", "trace me")

        async def answered() -> list[dict[str, object]] | None:
            return await replies(client, "otlp") or None

        await eventually(answered, timeout=30, what="the reply")

    wanted = {"clawbus-ingress", "clawbus-dispatcher", "clawbus-agent", "clawbus-egress"}

    async def one_trace_everywhere() -> str | None:
        with found._lock:
            traces = {trace for _, trace, name in found.spans if name == "ingress.receive"}
        return next((t for t in traces if wanted <= found.services_of(t)), None)

    await eventually(one_trace_everywhere, timeout=20, what=f"one trace with spans of {sorted(wanted)}")


def test_nothing_is_exported_without_an_endpoint() -> None:
    assert span_processor({}) is None
    assert span_processor({"OTEL_EXPORTER_OTLP_ENDPOINT": ""}) is None
    assert span_processor({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}) is not None
