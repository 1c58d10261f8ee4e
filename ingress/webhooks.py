"""The webhook handlers, independent of the runtime that serves them.

A `WebhookRequest` (method, path, lower-cased headers, query, raw body) goes in and a `WebhookResponse`
comes out; the ASGI app (`http/app.py`) and the Lambda entry point (`lambda_handler.py`) only translate
their runtime's request into one and back, as slack_bolt's adapters do. The routes come from the channel
registry (every `ChannelSpec` with a `webhook`); one generic handler verifies the signature on the raw
body with the channel's `verify`, parses with its `normalise`, hands the turns to `Intake` and
acknowledges. It never waits for the agent: platforms' deadlines are short (Slack 3 s, Discord 3 s).

Answers: bad or missing signature 401 (plus the channel's `reject_headers` on every refusal, Slack's
`X-Slack-No-Retry: 1`); a body that is not JSON, or JSON that is not a payload of the platform, 400; a
non-JSON content type 415; over the size cap 413; a GET where the channel has a subscription handshake
(WhatsApp's) is answered with its challenge, or 403; the queue unreachable 503 (the platform retries, the
dedup record makes that safe); everything else 200.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry import trace

from clawbus.bus.errors import ClawbusError, InvalidEnvelope, RetryableError, Unauthorized
from clawbus.bus.logging import log_event
from clawbus.bus.settings import Settings
from clawbus.bus.tracing import tracer
from clawbus.channels.contracts import ChannelSpec, WebhookRequest, WebhookResponse
from clawbus.channels.normalised import load_json_object
from clawbus.channels.registry import all_channels
from clawbus.ingress.intake import Intake

__all__ = ["WebhookRequest", "WebhookResponse", "Webhooks", "routes"]

logger = logging.getLogger(__name__)
_tracer = tracer(__name__)


def _error(status: int, message: str, **headers: str) -> WebhookResponse:
    return WebhookResponse(status, {"error": message}, dict(headers))


def routes(channels: Iterable[ChannelSpec[Any]] | None = None) -> dict[str, str]:
    """Each webhook channel's path, by channel name (every registered channel unless given)."""
    return {s.name: s.webhook.path for s in channels or all_channels() if s.webhook is not None}


class Webhooks:
    """The webhook endpoints of the registered channels whose credentials are set."""

    def __init__(
        self, settings: Settings, intake: Intake, channels: Iterable[ChannelSpec[Any]] | None = None
    ) -> None:
        self._settings = settings
        self._intake = intake
        self._specs = {s.webhook.path: s for s in channels or all_channels() if s.webhook is not None}
        self.enabled = [s.name for s in self._specs.values() if s.enabled(settings)]
        for spec in self._specs.values():  # the enabled channels' SDKs load now, not at their first webhook
            if spec.name in self.enabled and spec.webhook is not None and spec.webhook.load is not None:
                spec.webhook.load()

    async def handle(self, request: WebhookRequest) -> WebhookResponse:
        """Answer one webhook call, in an `ingress.receive` span (the trace every later hop joins)."""
        with _tracer.start_as_current_span("ingress.receive", kind=trace.SpanKind.SERVER) as span:
            span.set_attribute("url.path", request.path)
            answer = await self._handle(request)
            span.set_attribute("http.response.status_code", answer.status)
            return answer

    async def _handle(self, request: WebhookRequest) -> WebhookResponse:
        spec = self._specs.get(request.path.rstrip("/"))
        if spec is None or spec.name not in self.enabled:
            name = spec.name if spec else request.path.removeprefix("/webhooks/").split("/", 1)[0]
            return _error(
                404,
                f"no {name} webhook in this deployment: the {name} channel is not enabled "
                f"(set its credentials, e.g. CLAWBUS_{name.upper()}__BOT_TOKEN)",
            )
        subscribe = spec.webhook.subscribe if spec.webhook is not None else None
        if request.method == "GET" and subscribe is not None:
            return self._subscribe(spec.name, lambda: subscribe(request, spec.settings(self._settings)))
        if request.method != "POST":
            return _error(405, "send webhook events with POST")
        if len(request.body) > self._settings.ingress.max_body_bytes:
            return _error(413, f"body over {self._settings.ingress.max_body_bytes} bytes")
        return await self._run(spec, request)

    async def _run(self, spec: ChannelSpec[Any], request: WebhookRequest) -> WebhookResponse:
        assert spec.webhook is not None  # only webhook channels are routed
        hook, channel, cfg = spec.webhook, spec.name, spec.settings(self._settings)
        refused = dict(hook.reject_headers)
        try:
            hook.verify(request, cfg, self._intake.clock())
        except Unauthorized as exc:
            log_event(logger, "ingress.signature.rejected", logging.WARNING, channel=channel, reason=str(exc))
            return _error(401, str(exc), **refused)
        if "application/json" not in request.headers.get("content-type", ""):
            return _error(415, "send the body as JSON with Content-Type: application/json", **refused)
        try:
            parsed = hook.normalise(load_json_object(request.body), cfg, self._intake.context())
        except InvalidEnvelope as exc:
            log_event(logger, "ingress.payload.invalid", logging.WARNING, channel=channel, reason=str(exc))
            return _error(400, str(exc), **refused)
        try:
            await self._intake.accept(channel, parsed)
        except RetryableError as exc:
            log_event(logger, "ingress.enqueue.failed", logging.WARNING, channel=channel, reason=str(exc))
            return _error(503, "the inbound queue is unavailable; retry shortly")
        except ClawbusError as exc:
            log_event(logger, "ingress.enqueue.failed", logging.ERROR, channel=channel, reason=str(exc))
            return _error(503, "the inbound queue cannot be reached; check the deployment")
        return WebhookResponse(200, parsed.reply if parsed.reply is not None else {"ok": True})

    def _subscribe(self, channel: str, answer: Callable[[], str]) -> WebhookResponse:
        """A subscription handshake (GET): the challenge to echo, or 403 for a wrong verify token."""
        try:
            challenge = answer()
        except Unauthorized as exc:
            log_event(logger, "ingress.signature.rejected", logging.WARNING, channel=channel, reason=str(exc))
            return WebhookResponse(403, "Forbidden")
        return WebhookResponse(200, challenge)
