"""The agent container's HTTP app, on AgentCore Runtime's contract.

`POST /invocations` takes an `AgentRequest` (JSON) and answers an `AgentResponse`; `GET /ping` answers
`{"status": "Healthy" | "HealthyBusy", "time_of_last_update": <unix s>}`: busy while a turn runs, so
AgentCore does not recycle the session mid-turn; the timestamp moves only when the status changes. The
session id AgentCore sends (`X-Amzn-Bedrock-AgentCore-Runtime-Session-Id`) is logged, hashed. Port 8080.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clawbus.bus.errors import ClawbusError, RetryableError
from clawbus.bus.http_body import BodyTooLarge, read_capped
from clawbus.bus.logging import log_event, session_ref
from clawbus.schemas import (
    AgentError,
    AgentRequest,
    AgentResponse,
    EnvelopeError,
    TurnStatus,
    parse_agent_request,
)

from .providers import ModelProvider
from .turn import run_turn

logger = logging.getLogger(__name__)

SESSION_HEADER = "x-amzn-bedrock-agentcore-runtime-session-id"
REQUEST_ID_HEADER = "x-amzn-bedrock-agentcore-runtime-request-id"


class _Health:
    """Busy while turns run; the timestamp of the last status change."""

    def __init__(self) -> None:
        self.active = 0
        self.status = "Healthy"
        self.changed_at = int(time.time())

    def update(self, delta: int) -> None:
        self.active += delta
        status = "HealthyBusy" if self.active else "Healthy"
        if status != self.status:
            self.status = status
            self.changed_at = int(time.time())


def create_app(
    provider: ModelProvider,
    max_request_bytes: int = 1_048_576,
    turn_runner: Callable[[AgentRequest, ModelProvider], Awaitable[AgentResponse]] = run_turn,
) -> Starlette:
    """The agent app answering turns with `provider` (through `turn_runner`, e.g. with the cron tool)."""
    health = _Health()

    async def ping(_request: Request) -> Response:
        return JSONResponse({"status": health.status, "time_of_last_update": health.changed_at})

    async def invocations(request: Request) -> Response:
        try:
            body = await read_capped(request, max_request_bytes)
        except BodyTooLarge:
            return JSONResponse({"error": f"request body over {max_request_bytes} bytes"}, status_code=413)
        try:
            turn = parse_agent_request(body)
        except EnvelopeError as exc:
            return JSONResponse({"error": f"invalid invocation: {exc}"}, status_code=400)
        session = request.headers.get(SESSION_HEADER, "")
        started = time.monotonic()
        health.update(+1)
        try:
            response = await turn_runner(turn, provider)
        except ClawbusError as exc:
            response = AgentResponse(
                status=TurnStatus.ERROR,
                error=AgentError(
                    type=type(exc).__name__, message=str(exc), retryable=isinstance(exc, RetryableError)
                ),
                model=provider.name,
            )
        finally:
            health.update(-1)
        log_event(
            logger,
            "agent.turn.completed",
            reply_id=turn.reply_id,
            session=session_ref(turn.session_key),
            runtime_session=session_ref(session) if session else None,
            status=response.status.value,
            duration_ms=round((time.monotonic() - started) * 1000, 1),
        )
        return Response(response.to_wire(), media_type="application/json")

    return Starlette(routes=[Route("/ping", ping), Route("/invocations", invocations, methods=["POST"])])
