"""Metrics through OpenTelemetry's API: messages by outcome, in flight, and how long handling took.

Instruments are created once per stage (`stage_metrics`) and are cheap; no exporter ships in this build
(add an OTel metric reader, e.g. OTLP to the ADOT collector, to export them). The same figures are on
each worker's `/healthz` and in its log events, which the Terraform's CloudWatch metric filters count.
"""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry import metrics


@dataclass(frozen=True)
class StageMetrics:
    """The instruments one stage records into."""

    stage: str
    outcomes: metrics.Counter
    in_flight: metrics.UpDownCounter
    duration_ms: metrics.Histogram

    def outcome(self, name: str, count: int = 1) -> None:
        """Count messages that ended one way: `handled`, `given_back`, `dead_lettered`."""
        self.outcomes.add(count, {"stage": self.stage, "outcome": name})

    def flight(self, delta: int) -> None:
        """Messages received (+) or finished (-)."""
        self.in_flight.add(delta, {"stage": self.stage})

    def took(self, milliseconds: float) -> None:
        """How long one unit (a turn, a reply) took to handle."""
        self.duration_ms.record(milliseconds, {"stage": self.stage})


def stage_metrics(stage: str) -> StageMetrics:
    """The instruments for `stage` (`dispatcher`, `egress.telegram`, …)."""
    meter = metrics.get_meter("clawbus")
    return StageMetrics(
        stage=stage,
        outcomes=meter.create_counter(
            "clawbus.messages", unit="{message}", description="messages by outcome"
        ),
        in_flight=meter.create_up_down_counter("clawbus.messages.in_flight", unit="{message}"),
        duration_ms=meter.create_histogram("clawbus.handling.duration", unit="ms"),
    )
