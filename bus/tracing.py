"""W3C trace context across every hop.

Producers inject `traceparent`/`tracestate` into SQS/SNS message attributes; consumers extract them and
start their span as a child, so one trace runs from the webhook through the dispatcher and AgentCore to
egress. Spans are named like log event stems (`ingress.receive`, `dispatcher.turn`, `egress.send`).
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import metrics, propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from clawbus.schemas import attributes

_configured = False


def configure_tracing(service: str) -> None:
    """Install tracer and meter providers for this process: real ids and instruments, no exporter yet."""
    global _configured
    if _configured:
        return
    resource = Resource.create({"service.name": f"clawbus-{service}"})
    trace.set_tracer_provider(TracerProvider(resource=resource))
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
