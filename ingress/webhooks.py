"""The webhook handlers, independent of the runtime that serves them.

A `WebhookRequest` (method, path, lower-cased headers, query, raw body) goes in and a `WebhookResponse`
comes out; the ASGI app (`http/app.py`) and the Lambda entry point (`lambda_handler.py`) only translate
their runtime's request into one and back, as slack_bolt's adapters do. Each handler verifies the
signature on the raw body, parses, hands the turns to `Intake` and acknowledges. It never waits for the
agent: platforms' deadlines are short (Slack 3 s, Discord 3 s).

Answers: bad or missing signature 401 (Slack also gets `X-Slack-No-Retry: 1`); a body that is not JSON,
or JSON that is not a payload of the platform, 400; a non-JSON content type 415; over the size cap 413;
the queue unreachable 503 (the platform retries, the dedup record makes that safe); everything else 200.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace

from clawbus.bus.errors import ClawbusError, InvalidEnvelope, RetryableError, Unauthorized
from clawbus.bus.logging import log_event
from clawbus.bus.settings import Settings
from clawbus.bus.tracing import tracer
from clawbus.ingress.core import Parsed, discord, load_json_object, slack, telegram, whatsapp
from clawbus.ingress.intake import Intake

logger = logging.getLogger(__name__)
_tracer = tracer(__name__)

ROUTES = {
    "telegram": "/webhooks/telegram",
    "slack": "/webhooks/slack/events",
    "discord": "/webhooks/discord/interactions",
    "whatsapp": "/webhooks/whatsapp",
}


@dataclass(frozen=True)
class WebhookRequest:
    """A webhook call as every runtime can describe it (header names lower-cased)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes = b""
    query: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookResponse:
    """What to answer: a status, a JSON object (or plain text) and extra headers."""

    status: int
    body: dict[str, Any] | str
    headers: dict[str, str] = field(default_factory=dict)


def _error(status: int, message: str, **headers: str) -> WebhookResponse:
    return WebhookResponse(status, {"error": message}, dict(headers))


Normaliser = Callable[[dict[str, Any]], Parsed]


class Webhooks:
    """The webhook endpoints of the channels whose credentials are set."""

    def __init__(self, settings: Settings, intake: Intake) -> None:
        self._settings = settings
        self._intake = intake
        self.enabled = [c for c in ROUTES if getattr(settings, c).configured()]

    async def handle(self, request: WebhookRequest) -> WebhookResponse:
        """Answer one webhook call, in an `ingress.receive` span (the trace every later hop joins)."""
        with _tracer.start_as_current_span("ingress.receive", kind=trace.SpanKind.SERVER) as span:
            span.set_attribute("url.path", request.path)
            answer = await self._handle(request)
            span.set_attribute("http.response.status_code", answer.status)
            return answer

    async def _handle(self, request: WebhookRequest) -> WebhookResponse:
        channel = next((c for c, path in ROUTES.items() if path == request.path.rstrip("/")), None)
        if channel is None or channel not in self.enabled:
            name = channel or request.path.removeprefix("/webhooks/").split("/", 1)[0]
            return _error(
                404,
                f"no {name} webhook in this deployment: the {name} channel is not enabled "
                f"(set its credentials, e.g. CLAWBUS_{name.upper()}__BOT_TOKEN)",
            )
        if request.method == "GET" and channel == "whatsapp":
            return self._whatsapp_subscribe(request)
        if request.method != "POST":
            return _error(405, "send webhook events with POST")
        if len(request.body) > self._settings.ingress.max_body_bytes:
            return _error(413, f"body over {self._settings.ingress.max_body_bytes} bytes")
        handler: dict[str, Callable[[WebhookRequest], Awaitable[WebhookResponse]]] = {
            "telegram": self._telegram,
            "slack": self._slack,
            "discord": self._discord,
            "whatsapp": self._whatsapp,
        }
        return await handler[channel](request)

    async def _run(
        self, channel: str, request: WebhookRequest, verify: Callable[[], None], normalise: Normaliser
    ) -> WebhookResponse:
        no_retry = {"X-Slack-No-Retry": "1"} if channel == "slack" else {}
        try:
            verify()
        except Unauthorized as exc:
            log_event(logger, "ingress.signature.rejected", logging.WARNING, channel=channel, reason=str(exc))
            return _error(401, str(exc), **no_retry)
        if "application/json" not in request.headers.get("content-type", ""):
            return _error(415, "send the body as JSON with Content-Type: application/json", **no_retry)
        try:
            parsed = normalise(load_json_object(request.body))
        except InvalidEnvelope as exc:
            log_event(logger, "ingress.payload.invalid", logging.WARNING, channel=channel, reason=str(exc))
            return _error(400, str(exc), **no_retry)
        try:
            await self._intake.accept(channel, parsed)
        except RetryableError as exc:
            log_event(logger, "ingress.enqueue.failed", logging.WARNING, channel=channel, reason=str(exc))
            return _error(503, "the inbound queue is unavailable; retry shortly")
        except ClawbusError as exc:
            log_event(logger, "ingress.enqueue.failed", logging.ERROR, channel=channel, reason=str(exc))
            return _error(503, "the inbound queue cannot be reached; check the deployment")
        return WebhookResponse(200, parsed.reply if parsed.reply is not None else {"ok": True})

    async def _telegram(self, request: WebhookRequest) -> WebhookResponse:
        cfg = self._settings.telegram
        assert cfg.bot_token is not None  # enabled means configured
        bot_id = telegram.bot_id_from_token(cfg.bot_token.get_secret_value())
        secret = cfg.webhook_secret.get_secret_value() if cfg.webhook_secret else None
        return await self._run(
            "telegram",
            request,
            lambda: telegram.verify(request.headers.get(telegram.SECRET_HEADER), secret),
            lambda data: telegram.normalise(
                data, bot_id=bot_id, bot_username=cfg.bot_username, ctx=self._intake.context()
            ),
        )

    async def _slack(self, request: WebhookRequest) -> WebhookResponse:
        cfg = self._settings.slack
        secret = cfg.signing_secret.get_secret_value() if cfg.signing_secret else None
        return await self._run(
            "slack",
            request,
            lambda: slack.verify(request.body, request.headers, secret, self._intake.clock()),
            lambda data: slack.normalise(data, ctx=self._intake.context()),
        )

    async def _discord(self, request: WebhookRequest) -> WebhookResponse:
        key = self._settings.discord.public_key
        return await self._run(
            "discord",
            request,
            lambda: discord.verify(
                request.body,
                request.headers.get(discord.SIGNATURE_HEADER),
                request.headers.get(discord.TIMESTAMP_HEADER),
                key,
                now=self._intake.clock(),
            ),
            lambda data: discord.normalise(data, ctx=self._intake.context()),
        )

    async def _whatsapp(self, request: WebhookRequest) -> WebhookResponse:
        cfg = self._settings.whatsapp
        secret = cfg.app_secret.get_secret_value() if cfg.app_secret else None
        return await self._run(
            "whatsapp",
            request,
            lambda: whatsapp.verify(request.body, request.headers.get(whatsapp.SIGNATURE_HEADER), secret),
            lambda data: whatsapp.normalise(
                data, ctx=self._intake.context(), dedup_ttl_s=self._settings.ingress.dedup_ttl_s
            ),
        )

    def _whatsapp_subscribe(self, request: WebhookRequest) -> WebhookResponse:
        token = self._settings.whatsapp.verify_token
        try:
            challenge = whatsapp.verify_subscription(
                request.query, token.get_secret_value() if token else None
            )
        except Unauthorized as exc:
            log_event(
                logger, "ingress.signature.rejected", logging.WARNING, channel="whatsapp", reason=str(exc)
            )
            return WebhookResponse(403, "Forbidden")
        return WebhookResponse(200, challenge)
