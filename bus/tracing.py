"""W3C trace context across every hop.

Producers inject `traceparent`/`tracestate` into SQS/SNS message attributes; consumers extract them and
start their span as a child, so one trace runs from the webhook through the dispatcher and AgentCore to
egress. Spans are named like log event stems (`ingress.receive`, `dispatcher.turn`, `agent.turn`,
`egress.send`).

Spans are exported over OTLP/HTTP (protobuf) when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, and nowhere when it is not: the exporter reads the standard
`OTEL_*` variables itself (headers, timeout, `OTEL_BSP_SCHEDULE_DELAY`). In AWS the Terraform sets the
endpoint to an ADOT collector (`tracing = true`), which forwards to X-Ray. Long-running stages batch
spans (flushed at exit); a Lambda function, which may be frozen right after it answers, exports each span
as it ends.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from opentelemetry import metrics, propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

from clawbus.schemas import attributes

_configured = False


OTLP_ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def span_processor(environ: Mapping[str, str]) -> SpanProcessor | None:
    """How this process exports spans, from its environment: None (no OTLP endpoint set), a batching
    processor (a long-running stage), or one exporting at each span's end (a Lambda function)."""
    if not any(environ.get(name) for name in OTLP_ENDPOINT_VARS):
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    exporter = OTLPSpanExporter()
    if environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return SimpleSpanProcessor(exporter)
    return BatchSpanProcessor(exporter)


def configure_tracing(service: str) -> None:
    """Install tracer and meter providers for this process: real ids and instruments, and an OTLP span
    exporter when the environment names an endpoint (module docstring)."""
    global _configured
    if _configured:
        return
    resource = Resource.create({"service.name": f"clawbus-{service}"})
    provider = TracerProvider(resource=resource)  # shuts down (flushing spans) at exit
    processor = span_processor(os.environ)
    if processor is not None:
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider(resource=resource))
    _configured = True


def tracer(name: str) -> trace.Tracer:
    """The tracer for a module."""
    return trace.get_tracer(name)


def inject_context() -> dict[str, str]:
    """The current trace context as `{traceparent, tracestate?}` (empty when there is no span)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {k: v for k, v in carrier.items() if k in (attributes.TRACEPARENT, attributes.TRACESTATE)}


def extract_context(carrier: Mapping[str, str]) -> Context:
    """A context whose parent is the span described by `carrier`'s trace headers."""
    return propagate.extract(dict(carrier))


def current_traceparent() -> str | None:
    """The `traceparent` of the current span, for InvokeAgentRuntime's `traceParent`."""
    return inject_context().get(attributes.TRACEPARENT)
