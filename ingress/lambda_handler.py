"""The webhooks as an AWS Lambda function behind an API Gateway HTTP API (payload format 2.0).

A thin adapter, as slack_bolt's Lambda handler is: it turns the API Gateway v2 event into a
`WebhookRequest` (headers are already lower-case; a base64 body is decoded; repeated query keys are
comma-joined by API Gateway), runs the same `Webhooks` the ASGI app runs, and turns the answer into the
v2 response shape. Settings (with the configuration document) are read and AWS clients opened on
the first invocation of a warm container and reused after (one event loop per container, kept between
invocations).

Handler: `clawbus.ingress.lambda_handler.handler`.
"""

from __future__ import annotations

import asyncio
import base64
import json
from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import parse_qsl

from clawbus.bus.aws import open_clients
from clawbus.bus.document_settings import load_settings
from clawbus.bus.logging import configure_logging
from clawbus.bus.settings import Settings
from clawbus.bus.tracing import configure_tracing

from .webhooks import WebhookRequest, WebhookResponse, Webhooks
from .wiring import SERVICES, build_intake


def to_request(event: dict[str, Any]) -> WebhookRequest:
    """The webhook request in an API Gateway HTTP API (v2) event."""
    http = event.get("requestContext", {}).get("http", {})
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    query = dict(parse_qsl(event.get("rawQueryString") or "", keep_blank_values=True))
    return WebhookRequest(
        method=str(http.get("method", "POST")).upper(),
        path=str(event.get("rawPath") or http.get("path") or "/"),
        headers=headers,
        body=body,
        query=query,
    )


def to_result(answer: WebhookResponse) -> dict[str, Any]:
    """The API Gateway v2 response for a webhook answer."""
    is_text = isinstance(answer.body, str)
    return {
        "statusCode": answer.status,
        "headers": {"content-type": "text/plain" if is_text else "application/json", **answer.headers},
        "body": answer.body if isinstance(answer.body, str) else json.dumps(answer.body),
        "isBase64Encoded": False,
    }


class LambdaApp:
    """The webhooks with their AWS clients, opened once per container."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._loop = asyncio.new_event_loop()
        self._stack = AsyncExitStack()
        self._webhooks: Webhooks | None = None

    def __call__(self, event: dict[str, Any], _context: object = None) -> dict[str, Any]:
        """Handle one API Gateway v2 event."""
        return self._loop.run_until_complete(self._handle(event))

    async def _handle(self, event: dict[str, Any]) -> dict[str, Any]:
        if self._webhooks is None:
            clients = await self._stack.enter_async_context(open_clients(self._settings, *SERVICES))
            intake, _ = await build_intake(self._settings, clients)
            self._webhooks = Webhooks(self._settings, intake)
        return to_result(await self._webhooks.handle(to_request(event)))

    def close(self) -> None:
        """Close the clients and the loop (tests; Lambda simply freezes the container)."""
        self._loop.run_until_complete(self._stack.aclose())
        self._loop.close()


_app: LambdaApp | None = None


def handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    """The Lambda entry point (settings from `CLAWBUS_*` environment variables over the configuration
    document, read on first use)."""
    global _app  # one app per container, built on first use, not at import
    if _app is None:
        env = Settings()
        configure_logging(env.log_level)
        configure_tracing("ingress")
        _app = LambdaApp(load_settings(env).settings)
    return _app(event, context)
