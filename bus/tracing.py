"""W3C trace context across every hop.

Producers inject `traceparent`/`tracestate` into SQS/SNS message attributes; consumers extract them and
start their span as a child, so one trace runs from the webhook through the dispatcher and AgentCore to
egress. Spans are named like log event stems (`ingress.receive`, `dispatcher.turn`, `agent.turn`,
`egress.send`).

Where spans go is `tracing.export` (`CLAWBUS_TRACING__EXPORT`, bus/settings/aws.py `TracingSettings`):

- `otlp` (the default): OTLP/HTTP (protobuf) when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
  `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, nowhere when it is not; the exporter reads the standard
  `OTEL_*` variables itself (headers, timeout, `OTEL_BSP_SCHEDULE_DELAY`): a collector of your own.
- `xray`: OTLP/HTTP straight to X-Ray's endpoint, SigV4-signed (bus/xray_otlp.py); what every stage uses
  in AWS with the Terraform's `tracing = true`. A choice of its own rather than inferred from an https
  endpoint: a stage needs no endpoint variable at all, only its region, and the choice stays visible in
  `clawbus config` and the Terraform instead of hiding in a host name.
- `none`: nowhere, even when a platform sets `OTEL_*` variables.

Long-running stages batch spans (flushed at exit); a Lambda function, which may be frozen right after it
answers, exports each span as it ends.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

from opentelemetry import metrics, propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

from clawbus.bus.logging import log_event
from clawbus.bus.settings import AwsSettings, Settings, TracingSettings
from clawbus.schemas import attributes

logger = logging.getLogger(__name__)
_configured = False


OTLP_ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


@dataclass(frozen=True)
class SpanExport:
    """Where a process sends its spans: `endpoint` None lets the OTLP exporter read `OTEL_*` itself;
    `sign_region` set means SigV4 for X-Ray in that region; `per_span` exports each span as it ends."""

    endpoint: str | None
    sign_region: str | None
    per_span: bool


def plan_export(tracing: TracingSettings, region: str, environ: Mapping[str, str]) -> SpanExport | None:
    """How this process exports spans (module docstring), or None when it exports nothing."""
    per_span = bool(environ.get("AWS_LAMBDA_FUNCTION_NAME"))
    if tracing.export == "xray":
        from clawbus.bus.xray_otlp import xray_traces_endpoint

        endpoint = tracing.xray_endpoint or xray_traces_endpoint(region)
        return SpanExport(endpoint=endpoint, sign_region=region, per_span=per_span)
    if tracing.export == "otlp" and any(environ.get(name) for name in OTLP_ENDPOINT_VARS):
        return SpanExport(endpoint=None, sign_region=None, per_span=per_span)
    return None


def span_processor(
    environ: Mapping[str, str], tracing: TracingSettings | None = None, aws: AwsSettings | None = None
) -> SpanProcessor | None:
    """The processor that carries out `plan_export`: None, a batching one (a long-running stage), or one
    exporting at each span's end (a Lambda function).

    Raises:
        ConfigError: `xray` export with no AWS credentials to sign with.
    """
    aws = aws or AwsSettings()
    plan = plan_export(tracing or TracingSettings(), aws.region, environ)
    if plan is None:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExporter

    exporter: SpanExporter
    if plan.sign_region is not None and plan.endpoint is not None:
        from clawbus.bus.xray_otlp import xray_span_exporter

        exporter = xray_span_exporter(plan.endpoint, plan.sign_region, aws.profile)
    else:
        exporter = OTLPSpanExporter()
    return SimpleSpanProcessor(exporter) if plan.per_span else BatchSpanProcessor(exporter)


def configure_tracing(service: str, settings: Settings | None = None) -> None:
    """Install tracer and meter providers for this process: real ids and instruments, and a span
    exporter as `settings.tracing` and the environment say (module docstring).

    Raises:
        ConfigError: `xray` export with no AWS credentials to sign with.
    """
    global _configured
    if _configured:
        return
    tracing = settings.tracing if settings is not None else TracingSettings()
    aws = settings.aws if settings is not None else AwsSettings()
    resource = Resource.create({"service.name": f"clawbus-{service}"})
    provider = TracerProvider(resource=resource)  # shuts down (flushing spans) at exit
    processor = span_processor(os.environ, tracing, aws)
    if processor is not None:
        provider.add_span_processor(processor)
        log_event(logger, "tracing.export.start", service=service, export=tracing.export, region=aws.region)
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
