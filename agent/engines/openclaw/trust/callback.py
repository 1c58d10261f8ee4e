"""The loopback endpoint the `clawbus-trust` plugin asks before each OpenClaw turn: which tools it keeps.

The plugin posts `{sessionKey, agentId}` (from OpenClaw's hook context, never from the model) to
`POST /tools` with `Authorization: Bearer <token>` (fresh per container; any other local process gets
401) and gets `{"trusted": true}` for a turn the engine registered as trusted (`ActiveTurns`), else
`{"trusted": false, "toolsAllow": [...]}`, the untrusted policy's tools (`allowlist`). A key with no
running turn is untrusted.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clawbus.agent.engines.openclaw.active_turns import ActiveTurns
from clawbus.agent.engines.openclaw.loopback_app import bearer_ok, serve_loopback
from clawbus.agent.engines.openclaw.trust.allowlist import tools_allow_for
from clawbus.bus.logging import log_event, session_ref
from clawbus.bus.settings import Settings

logger = logging.getLogger(__name__)
PATH = "/tools"


class TrustQuery(BaseModel):
    """What the plugin posts: the turn's session key and agent, from OpenClaw's hook context."""

    model_config = ConfigDict(populate_by_name=True)

    session_key: str | None = Field(default=None, alias="sessionKey")
    agent_id: str | None = Field(default=None, alias="agentId")


@dataclass
class Queries:
    """How many authorised queries the callback answered: the engine's proof that the plugin runs."""

    count: int = 0


@dataclass(frozen=True)
class TrustCallback:
    """Where the plugin reaches the callback (its URL and bearer token, for `with_trust_plugin`), and
    how many queries it answered so far."""

    url: str
    token: str
    queries: Queries


def trust_app(turns: ActiveTurns, token: str, settings: Settings, queries: Queries) -> Starlette:
    """The ASGI app serving `POST /tools`, authorised by `token`, counting its answers in `queries`."""

    async def ask(request: Request) -> Response:
        if not bearer_ok(request, token):
            log_event(logger, "agent.trust_callback.unauthorized", logging.WARNING)
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        try:
            query = TrustQuery.model_validate_json(await request.body())
        except ValidationError as exc:
            return JSONResponse({"error": f"not a trust query: {exc}"}, status_code=400)
        queries.count += 1
        scope = turns.scope_for(query.session_key, query.agent_id, settings.session.agent_id)
        allow = tools_allow_for(settings.agent.tools, scope.agent_id, trusted=scope.trusted)
        if allow is None:
            return JSONResponse({"trusted": True})
        log_event(logger, "agent.tools.narrowed", session=session_ref(scope.session_key), kept=allow)
        return JSONResponse({"trusted": False, "toolsAllow": allow})

    return Starlette(routes=[Route(PATH, ask, methods=["POST"])])


@contextlib.asynccontextmanager
async def serve_trust_callback(settings: Settings, turns: ActiveTurns) -> AsyncIterator[TrustCallback]:
    """The callback served on 127.0.0.1 (a free port) for the life of the block."""
    token = secrets.token_urlsafe(32)
    queries = Queries()
    app = trust_app(turns, token, settings, queries)
    async with serve_loopback(app, started_event="agent.trust_callback.started") as port:
        yield TrustCallback(url=f"http://127.0.0.1:{port}{PATH}", token=token, queries=queries)
