"""The loopback endpoint the `clawbus_cron` plugin calls: clawbus's cron tool, run for the calling turn.

The plugin posts `{sessionKey, agentId, params}` to `POST /cron` with `Authorization: Bearer <token>`
(a fresh random token per container, handed to OpenClaw in its generated config; any other local
process gets 401). The session key comes from OpenClaw's tool context, never from the model; the turn
it names must be one the engine registered in `ActiveTurns` while it runs, so the job gets that turn's
agent, trust and route (where a job without a target announces, and where it may deliver). A call for
a session with no running turn gets a scope without a route and untrusted, as the native tool does for
a call outside any turn. The tool policy (`agent.tools`: groups and strangers may not use cron by
default) is applied here, since OpenClaw offers the plugin tool to every turn. The answer is the cron
tool's JSON result, `{"ok": false, "error": ...}` when refused.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clawbus.agent.cron_delivery import owner_ids
from clawbus.agent.cron_tool import CronTool
from clawbus.agent.engines.openclaw.active_turns import ActiveTurns
from clawbus.agent.engines.openclaw.loopback_app import bearer_ok, serve_loopback
from clawbus.agent.tools.policy import policy_for
from clawbus.agent.tools.scope import TurnScope
from clawbus.bus.clients import CronClients, open_stage_clients
from clawbus.bus.logging import log_event, session_ref
from clawbus.bus.settings import Settings, ToolSettings
from clawbus.storage.cron.service import connect

logger = logging.getLogger(__name__)
PATH = "/cron"


class CronCall(BaseModel):
    """What the plugin posts: the turn's session key and agent (from OpenClaw's tool context), the
    model's parameters."""

    model_config = ConfigDict(populate_by_name=True)

    session_key: str | None = Field(default=None, alias="sessionKey")
    agent_id: str | None = Field(default=None, alias="agentId")
    params: dict[str, Any]


def refusal(tools: ToolSettings, scope: TurnScope) -> str | None:
    """Why the turn `scope` may not use cron under the tool policy, or None when it may."""
    offer = policy_for(tools, scope.agent_id).offer(["cron"], trusted=scope.trusted)
    reason = offer.refused.get("cron")
    return None if reason is None else f"the cron tool is not available in this conversation ({reason})"


@dataclass(frozen=True)
class CronCallback:
    """Where the plugin reaches the callback: its URL and bearer token (for `with_cron_plugin`)."""

    url: str
    token: str


def callback_app(cron: CronTool, turns: ActiveTurns, token: str, settings: Settings) -> Starlette:
    """The ASGI app serving `POST /cron` for `cron`, authorised by `token`."""

    async def call(request: Request) -> Response:
        if not bearer_ok(request, token):
            log_event(logger, "agent.cron_callback.unauthorized", logging.WARNING)
            return JSONResponse({"ok": False, "error": "unauthorized"}, status_code=401)
        try:
            body = CronCall.model_validate_json(await request.body())
        except ValidationError as exc:
            return JSONResponse({"ok": False, "error": f"not a cron call: {exc}"}, status_code=400)
        scope = turns.scope_for(body.session_key, body.agent_id, settings.session.agent_id)
        refused = refusal(settings.agent.tools, scope)
        if refused is not None:
            log_event(logger, "agent.cron.refused", logging.WARNING, session=session_ref(scope.session_key))
            return JSONResponse({"ok": False, "action": body.params.get("action"), "error": refused})
        return JSONResponse(await cron(body.params, scope=scope))

    return Starlette(routes=[Route(PATH, call, methods=["POST"])])


@contextlib.asynccontextmanager
async def serve_cron_callback(settings: Settings, turns: ActiveTurns) -> AsyncIterator[CronCallback]:
    """The callback served on 127.0.0.1 (a free port) for the life of the block, on the deployment's
    cron service.

    Raises:
        ClawbusError: the cron service cannot be reached (its table or scheduler role is missing).
    """
    async with open_stage_clients(settings, CronClients) as clients:
        cron = CronTool(await connect(settings, clients), owner_ids(settings))
        token = secrets.token_urlsafe(32)
        app = callback_app(cron, turns, token, settings)
        async with serve_loopback(app, started_event="agent.cron_callback.started") as port:
            yield CronCallback(url=f"http://127.0.0.1:{port}{PATH}", token=token)
