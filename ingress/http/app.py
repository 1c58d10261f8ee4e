"""The ingress ASGI app: webhooks, WebChat and the health check (`clawbus ingress`; Lambda in AWS).

Every handler answers fast: verify, normalise, enqueue, acknowledge. Nothing here calls the agent.
Bad input gets a 4xx that says what was wrong; an unreachable queue gets a 503 so platforms retry.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from importlib import resources

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from clawbus.bus.aws import open_clients
from clawbus.bus.queues import Queue, resolve_queue_url
from clawbus.bus.settings import Settings
from clawbus.bus.topology import inbound_queue_name, webchat_table_name
from clawbus.ingress.publisher import InboundPublisher

from .dashboard import Dashboard, dashboard_routes, dispatcher_log_turns
from .webchat import WebchatApi, error

_PAGE = "index.html"


def create_app(settings: Settings) -> Starlette:
    """The ingress app; AWS clients open in its lifespan and close with it."""
    state: dict[str, WebchatApi] = {}
    dashboards: list[Dashboard] = []

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with open_clients(settings, "sqs", "dynamodb") as clients:
            assert clients.sqs
            assert clients.dynamodb
            name = inbound_queue_name(settings.bus.prefix)
            url = await resolve_queue_url(clients.sqs, name, settings.aws.endpoint_url)
            publisher = InboundPublisher(Queue(clients.sqs, name, url))
            state["webchat"] = WebchatApi(
                settings, publisher, clients.dynamodb, webchat_table_name(settings.bus.prefix)
            )
            dashboards[:] = [Dashboard.for_settings(clients.sqs, settings, dispatcher_log_turns(settings))]
            yield

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok", "channels": settings.enabled_channels()})

    async def page(_request: Request) -> Response:
        if not settings.webchat.enabled:
            return error(404, "WebChat is disabled; set CLAWBUS_WEBCHAT__ENABLED=true")
        html = resources.files("clawbus.ingress.http").joinpath("static", _PAGE).read_text("utf-8")
        return HTMLResponse(html)

    async def post_message(request: Request) -> Response:
        return await state["webchat"].post_message(request)

    async def get_messages(request: Request) -> Response:
        return await state["webchat"].get_messages(request)

    async def webhook_not_enabled(request: Request) -> Response:
        channel = request.path_params["channel"].split("/", 1)[0]
        return error(
            404,
            f"no {channel} webhook in this deployment: the {channel} channel is not enabled "
            f"(set its credentials, e.g. CLAWBUS_{channel.upper()}__BOT_TOKEN)",
        )

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/", page),
            Route("/webchat/api/messages", post_message, methods=["POST"]),
            Route("/webchat/api/conversations/{conversation:str}/messages", get_messages),
            Route("/webhooks/{channel:path}", webhook_not_enabled, methods=["GET", "POST"]),
            *dashboard_routes(lambda: dashboards[0]),
        ],
        lifespan=lifespan,
    )
