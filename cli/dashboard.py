"""`clawbus dashboard`: the dashboard page ingress serves, against any endpoint and prefix.

It runs only the dashboard routes (`/dashboard`, `/dashboard/api/series`) in a small local server, so
an operator can watch an AWS deployment (whose ingress is a Lambda) the way the embedded default shows
itself. Like every local surface it needs the run's token (the data dir's WebChat token, made if there
is none): the printed URL (`/`) carries it in its fragment, which the page trades for the same HttpOnly cookie
WebChat uses; without it every route answers 401, and only loopback Host names are served.

Turn figures come from a dispatcher log file when there is one (`--dispatcher-log`, default the
embedded default's); in AWS the page links the CloudWatch dashboard, which has them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from clawbus.bus.clients import QueueClients, open_stage_clients
from clawbus.bus.errors import ClawbusError
from clawbus.bus.logging import configure_logging
from clawbus.bus.serve import serve_asgi
from clawbus.bus.settings import BusSettings, Settings
from clawbus.cli.console import Console
from clawbus.cli.ops_target import add_target_arguments, target_from
from clawbus.ingress.http.access import WebchatAccess, host_check, protected
from clawbus.ingress.http.dashboard import (
    Dashboard,
    DispatcherLogTurns,
    NoTurns,
    TurnSource,
    dashboard_page,
    dashboard_routes,
)
from clawbus.ingress.http.token_file import ensure_token, token_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`dashboard`'s flags."""
    add_target_arguments(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8788, help="port to serve on (default 8788)")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between samples (default 2)")
    parser.add_argument(
        "--dispatcher-log",
        type=Path,
        help="the dispatcher's JSON log, for turns per minute and latency "
        "(default <data-dir>/logs/dispatcher.log on the loopback API; none in AWS)",
    )


def create_app(settings: Settings, turns: TurnSource, interval_s: float, access: WebchatAccess) -> Starlette:
    """The dashboard alone, with its own SQS client for the life of the app, behind the run's token
    (`access`) and the Host check (`settings.ingress.host` is the address it is served on)."""
    holder: list[Dashboard] = []

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with open_stage_clients(settings, QueueClients) as clients:
            holder[:] = [Dashboard.for_settings(clients.sqs, settings, turns, interval_s)]
            yield

    async def home(_request: object) -> Response:
        return dashboard_page()  # the printed URL's page: it trades the fragment's token for the cookie

    routes = [
        Route("/", home, middleware=[host_check(settings)]),
        Route("/webchat/api/session", access.sign_in, methods=["POST"], middleware=[host_check(settings)]),
        *dashboard_routes(lambda: holder[0], middleware=protected(settings, access)),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def run_dashboard(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    """Serve until Ctrl-C."""
    try:
        target = target_from(args, settings)
    except ClawbusError as exc:
        console.error(f"dashboard: {exc}")
        return 2
    if target.aws.profile:
        os.environ["AWS_PROFILE"] = target.aws.profile  # aiobotocore's session reads the profile from here
    scoped = settings.model_copy(update={"aws": target.aws, "bus": BusSettings(prefix=target.prefix)})
    log = args.dispatcher_log or (
        settings.local.data_dir / "logs" / "dispatcher.log" if target.loopback else None
    )
    turns: TurnSource = DispatcherLogTurns(log) if log is not None else NoTurns()
    token_file = token_path(settings.local.data_dir)
    try:
        token, _made = ensure_token(token_file)
    except (ClawbusError, OSError) as exc:
        console.error(f"dashboard: token: {exc}")
        return 2
    access = WebchatAccess(SecretStr(token), f"the token in {token_file}")
    served = scoped.model_copy(update={"ingress": scoped.ingress.model_copy(update={"host": args.host})})
    configure_logging(settings.log_level)
    console.print(
        f"dashboard for {target.prefix} at {target.where}: "
        f"http://{args.host}:{args.port}/#token={token}  (token: {token_file})"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve_asgi(
                create_app(served, turns, args.interval, access),
                host=args.host,
                port=args.port,
                stage="dashboard",
            )
        )
    return 0
