"""The whole ingress ASGI app as an AWS Lambda function behind an API Gateway HTTP API (payload 2.0).

Mangum (a maintained ASGI-to-Lambda adapter) translates API Gateway events to ASGI and back, so
the Lambda serves exactly what `clawbus ingress` serves — webhooks, `/healthz`, WebChat and the
dashboard, with the same status codes and error bodies — instead of a hand-written subset.

Mangum would run the app's lifespan (which opens the AWS clients) around every invocation; instead
the lifespan is entered once, on a warm container's first invocation, on one event loop kept for the
container's life, and Mangum runs each request on that same loop with its own lifespan off.

Handler: `clawbus.ingress.lambda_handler.handler`.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

from mangum import Mangum

from clawbus.bus.logging import configure_logging
from clawbus.bus.settings import Settings
from clawbus.bus.tracing import configure_tracing
from clawbus.ingress.http.app import create_app
from clawbus.openclaw.document_settings import load_settings


class LambdaApp:
    """The ingress app with its AWS clients, opened once per container."""

    def __init__(self, settings: Settings) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)  # Mangum runs each request on the current loop
        self._app = create_app(settings)
        self._stack = AsyncExitStack()
        self._started = False
        self._adapter = Mangum(self._app, lifespan="off")

    def __call__(self, event: dict[str, Any], context: object = None) -> dict[str, Any]:
        """Handle one API Gateway event; the response in the shape API Gateway expects."""
        if not self._started:
            lifespan = self._app.router.lifespan_context(self._app)
            self._loop.run_until_complete(self._stack.enter_async_context(lifespan))
            self._started = True
        asyncio.set_event_loop(self._loop)
        return self._adapter(event, context)  # type: ignore[arg-type]

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
        configure_tracing("ingress", env)
        _app = LambdaApp(load_settings(env).settings)
    return _app(event, context)
