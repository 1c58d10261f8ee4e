"""The ingress ASGI app: webhooks, WebChat and the health check (`clawbus ingress`; Lambda in AWS).

Every handler answers fast: verify, normalise, enqueue, acknowledge. Nothing here calls the agent.
Bad input gets a 4xx that says what was wrong; an unreachable queue gets a 503 so platforms retry.
WebChat's API and the dashboard need the run's token and a loopback (or allowed) Host (`access.py`);
the page itself is static and holds nothing. With WebChat disabled, every WebChat route is a 404.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from importlib import resources

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from clawbus.bus.clients import IngressClients, UploadClients, open_stage_clients, request_counts
from clawbus.bus.http_body import BodyTooLarge, read_capped
from clawbus.bus.settings import Settings
from clawbus.bus.topology import webchat_table_name
from clawbus.ingress.http.access import WebchatAccess, host_check, protected
from clawbus.ingress.http.dashboard import Dashboard, dashboard_routes, dispatcher_log_turns
from clawbus.ingress.http.uploads import WebchatUploads
from clawbus.ingress.http.webchat import WebchatApi, error
from clawbus.ingress.http.webchat_media import WebchatMedia
from clawbus.ingress.webhooks import WebhookRequest, WebhookResponse, Webhooks
from clawbus.ingress.wiring import build_intake
from clawbus.storage.backends import blob_store, media_store

_PAGE = "index.html"


def create_app(settings: Settings) -> Starlette:
    """The ingress app; AWS clients open in its lifespan and close with it.

    Raises:
        ConfigError: `CLAWBUS_WEBCHAT__TOKEN_FILE` names a missing or unsafe file.
    """
    access = WebchatAccess.from_settings(settings)
    state: dict[str, WebchatApi] = {}
    uploads: dict[str, WebchatUploads] = {}
    hooks: dict[str, Webhooks] = {}
    dashboards: list[Dashboard] = []
    media: list[WebchatMedia] = []
    requests: dict[str, int] = {}  # AWS requests by service, on /healthz (`clawbus bench` reads them)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with (
            open_stage_clients(settings, IngressClients, requests) as clients,
            open_stage_clients(settings, UploadClients) as upload_clients,
        ):
            uploads["webchat"] = WebchatUploads(settings, media_store(settings, upload_clients))
            intake, publisher = await build_intake(settings, clients)
            state["webchat"] = WebchatApi(
                settings,
                publisher,
                clients.dynamodb,
                webchat_table_name(settings.bus.prefix),
                linker=intake.linker,
            )
            hooks["all"] = Webhooks(settings, intake)
            media[:] = [WebchatMedia(blob_store(settings, clients))]  # the files replies send
            dashboards[:] = [Dashboard.for_settings(clients.sqs, settings, dispatcher_log_turns(settings))]
            yield

    async def healthz(_request: Request) -> Response:
        return JSONResponse(
            {"status": "ok", "channels": settings.enabled_channels(), **request_counts(requests)}
        )

    async def page(_request: Request) -> Response:
        html = resources.files("clawbus.ingress.http").joinpath("static", _PAGE).read_text("utf-8")
        return HTMLResponse(html, headers={"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"})

    async def disabled(_request: Request) -> Response:
        return error(404, "WebChat is disabled; set CLAWBUS_WEBCHAT__ENABLED=true")

    async def post_message(request: Request) -> Response:
        return await state["webchat"].post_message(request)

    async def post_upload(request: Request) -> Response:
        return await uploads["webchat"].post(request)

    async def get_messages(request: Request) -> Response:
        return await state["webchat"].get_messages(request)

    async def get_media(request: Request) -> Response:
        return await media[0].get(request)

    async def webhook(request: Request) -> Response:
        try:
            body = await read_capped(request, settings.ingress.max_body_bytes)
        except BodyTooLarge:
            return error(413, f"body over {settings.ingress.max_body_bytes} bytes")
        answer = await hooks["all"].handle(
            WebhookRequest(
                method=request.method,
                path=request.url.path,
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
                query=dict(request.query_params),
            )
        )
        return to_starlette(answer)

    guarded = protected(settings, access)
    webchat: list[BaseRoute] = [
        Route("/", page, middleware=[host_check(settings)]),
        Route("/webchat/api/session", access.sign_in, methods=["POST"], middleware=[host_check(settings)]),
        Route("/webchat/api/messages", post_message, methods=["POST"], middleware=guarded),
        Route("/webchat/api/uploads", post_upload, methods=["POST"], middleware=guarded),
        Route("/webchat/api/conversations/{conversation:str}/messages", get_messages, middleware=guarded),
        Route("/webchat/api/media/{key:path}", get_media, middleware=guarded),
    ]
    if not settings.webchat.enabled:
        webchat = [Route("/", disabled), Route("/webchat/{rest:path}", disabled, methods=["GET", "POST"])]
    return Starlette(
        routes=[
            Route("/healthz", healthz),
            *webchat,
            Route("/webhooks/{channel:path}", webhook, methods=["GET", "POST"]),
            *dashboard_routes(lambda: dashboards[0], middleware=guarded),
        ],
        lifespan=lifespan,
    )


def to_starlette(answer: WebhookResponse) -> Response:
    """A Starlette response for a webhook answer (JSON object or plain text)."""
    if isinstance(answer.body, str):
        return PlainTextResponse(answer.body, status_code=answer.status, headers=answer.headers)
    return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)
