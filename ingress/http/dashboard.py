"""The live dashboard: queue depth over time, DLQ depth, turns per minute and turn latency.

`GET /dashboard` is a page that draws its charts itself (inline SVG, no CDN); it polls
`GET /dashboard/api/series`, which samples every queue's `GetQueueAttributes` at most once per interval
and keeps the history in this process's memory (so history starts when someone first looks). Turn
figures come from a pluggable `TurnSource`: on the embedded default, the dispatcher's JSON log
(`dispatcher.turn.completed` with `duration_ms`, the same event the Terraform's CloudWatch metric
filters count in AWS). In AWS, the CloudWatch dashboard the Terraform creates is the counterpart; the
page links it.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from clawbus.bus.aws import is_loopback, map_aws_errors
from clawbus.bus.errors import ClawbusError
from clawbus.bus.queues import resolve_queue_url
from clawbus.bus.settings import Settings
from clawbus.bus.topology import build_topology

if TYPE_CHECKING:
    from types_aiobotocore_sqs import SQSClient

HISTORY = 900  # samples kept per queue (30 minutes at the default 2 s)
TURN_EVENT = "dispatcher.turn.completed"
_PAGE = "dashboard.html"


@dataclass(frozen=True)
class TurnWindow:
    """Turns in the minute before a moment: how many, and their median latency."""

    per_minute: int
    latency_ms: float | None


class TurnSource(Protocol):
    """Where turn figures come from (the dispatcher's log here; CloudWatch metrics in AWS)."""

    async def window(self, now: float) -> TurnWindow: ...


class NoTurns:
    """A deployment whose turn figures this process cannot see."""

    async def window(self, now: float) -> TurnWindow:
        """Always empty."""
        del now
        return TurnWindow(0, None)


class DispatcherLogTurns:
    """Turns read from the dispatcher's JSON log file, followed as it grows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._turns: deque[tuple[float, float]] = deque(maxlen=100_000)

    def _read_new(self) -> None:
        try:
            with self.path.open("rb") as log:
                if log.seek(0, 2) < self._offset:  # rotated or truncated: start over
                    self._offset = 0
                log.seek(self._offset)
                chunk = log.read()
        except OSError:
            return
        complete = chunk.rfind(b"\n") + 1
        self._offset += complete
        for line in chunk[:complete].splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("event") == TURN_EVENT:
                at = datetime.fromisoformat(str(record["ts"])).timestamp()
                self._turns.append((at, float(record.get("duration_ms", 0.0))))

    async def window(self, now: float) -> TurnWindow:
        """Turns completed in (now - 60 s, now]."""
        await asyncio.to_thread(self._read_new)
        recent = [ms for at, ms in self._turns if now - 60 < at <= now]
        return TurnWindow(len(recent), round(statistics.median(recent), 1) if recent else None)


@dataclass
class _Series:
    name: str
    kind: str
    visible: deque[int] = field(default_factory=lambda: deque(maxlen=HISTORY))
    in_flight: deque[int] = field(default_factory=lambda: deque(maxlen=HISTORY))


class Dashboard:
    """Samples the bus's queues on demand (at most once per `interval_s`) and keeps the history."""

    def __init__(
        self,
        sqs: SQSClient,
        *,
        prefix: str,
        region: str,
        endpoint: str | None,
        turns: TurnSource,
        interval_s: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sqs = sqs
        self._prefix = prefix
        self._region = region
        self._endpoint = endpoint
        self._turns = turns
        self._interval_s = interval_s
        self._clock = clock
        self._urls: dict[str, str] = {}
        self._series = [
            _Series(q.name, "dlq" if q.is_dlq else ("egress" if "-egress-" in q.name else "inbound"))
            for q in build_topology(prefix).queues
        ]
        self._times: deque[float] = deque(maxlen=HISTORY)
        self._per_minute: deque[int] = deque(maxlen=HISTORY)
        self._latency: deque[float | None] = deque(maxlen=HISTORY)
        self._lock = asyncio.Lock()
        self._error: str | None = None

    async def _sample(self) -> None:
        now = self._clock()
        if self._times and now - self._times[-1] < self._interval_s:
            return
        for series in self._series:
            if series.name not in self._urls:
                with map_aws_errors(f"GetQueueUrl {series.name}"):
                    url = await resolve_queue_url(self._sqs, series.name, self._endpoint)
                self._urls[series.name] = url
        counts = []
        for series in self._series:
            with map_aws_errors(f"GetQueueAttributes {series.name}"):
                answer = await self._sqs.get_queue_attributes(
                    QueueUrl=self._urls[series.name],
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )
            got = answer.get("Attributes", {})
            counts.append(
                (
                    int(got.get("ApproximateNumberOfMessages", "0")),
                    int(got.get("ApproximateNumberOfMessagesNotVisible", "0")),
                )
            )
        window = await self._turns.window(now)
        self._times.append(now)
        for series, (visible, in_flight) in zip(self._series, counts, strict=True):
            series.visible.append(visible)
            series.in_flight.append(in_flight)
        self._per_minute.append(window.per_minute)
        self._latency.append(window.latency_ms)

    async def series(self) -> dict[str, Any]:
        """Sample if due, then every series so far (the page's one data source)."""
        async with self._lock:
            try:
                await self._sample()
                self._error = None
            except ClawbusError as exc:
                self._error = str(exc)
        return {
            "prefix": self._prefix,
            "endpoint": self._endpoint or f"AWS ({self._region})",
            "interval_s": self._interval_s,
            "cloudwatch_url": None if is_loopback(self._endpoint) else self.cloudwatch_url(),
            "cloudwatch_dashboard": self._prefix,
            "t": list(self._times),
            "queues": [
                {
                    "name": s.name,
                    "short": s.name.removeprefix(f"{self._prefix}-").removesuffix(".fifo"),
                    "kind": s.kind,
                    "visible": list(s.visible),
                    "in_flight": list(s.in_flight),
                }
                for s in self._series
            ],
            "turns": {"per_minute": list(self._per_minute), "latency_ms": list(self._latency)},
            "error": self._error,
        }

    @classmethod
    def for_settings(
        cls, sqs: SQSClient, settings: Settings, turns: TurnSource, interval_s: float = 2.0
    ) -> Dashboard:
        """The dashboard of the deployment `settings` describe."""
        aws = settings.aws
        return cls(
            sqs,
            prefix=settings.bus.prefix,
            region=aws.region,
            endpoint=aws.endpoint_url,
            turns=turns,
            interval_s=interval_s,
        )

    def cloudwatch_url(self) -> str:
        """The Terraform's CloudWatch dashboard (named after the prefix) in the AWS console."""
        region = self._region
        return (
            f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
            f"#dashboards/dashboard/{self._prefix}"
        )


def dispatcher_log_turns(settings: Settings) -> DispatcherLogTurns:
    """Turns from the dispatcher log `clawbus up` writes (`<data-dir>/logs/dispatcher.log`)."""
    return DispatcherLogTurns(settings.local.data_dir / "logs" / "dispatcher.log")


def dashboard_page() -> HTMLResponse:
    """The dashboard's page: static, no data of its own (it reads `/dashboard/api/series`)."""
    html = resources.files("clawbus.ingress.http").joinpath("static", _PAGE).read_text("utf-8")
    return HTMLResponse(html, headers={"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"})


def dashboard_routes(
    current: Callable[[], Dashboard], middleware: Sequence[Middleware] | None = None
) -> list[Route]:
    """`GET /dashboard` and `GET /dashboard/api/series` for the dashboard `current()` returns, each behind
    `middleware` (ingress: the Host check and the run's token)."""

    async def page(_request: Request) -> Response:
        return dashboard_page()

    async def series(_request: Request) -> Response:
        document = await current().series()
        return JSONResponse(document, status_code=503 if document["error"] and not document["t"] else 200)

    return [
        Route("/dashboard", page, middleware=middleware),
        Route("/dashboard/api/series", series, middleware=middleware),
    ]
