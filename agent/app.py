"""The agent container's HTTP app, on AgentCore Runtime's contract.

`POST /invocations` takes an `AgentRequest` (JSON) and answers an `AgentResponse` (a streamed request,
`stream: true`, gets server-sent events from the first byte on, its error included: `agent/progress.py`);
`GET /ping` answers `{"status": "Healthy" | "HealthyBusy", "time_of_last_update": <unix s>}`: busy while a
turn runs, so AgentCore does not recycle the session mid-turn; the timestamp moves only when the status
changes. The session id AgentCore sends (`X-Amzn-Bedrock-AgentCore-Runtime-Session-Id`) names the
transcript and is logged hashed. Port 8080.

With an invoke token (`CLAWBUS_AGENT__INVOKE_TOKEN`; `clawbus up` always sets one, and its loopback
AgentCore endpoint sends it), `/invocations` answers 401 to a request without `Authorization: Bearer
<token>`: on a laptop any local process, or a web page, could otherwise run turns. Without one it
checks nothing and says so at start: in AWS only AgentCore Runtime reaches the container. `/ping` stays
open (health checks).

Bad input gets a 4xx with a reason (413 over `max_request_bytes`, 400 for a body that is not an
invocation). A turn that fails answers 200 with `status: error` and `error: {type, message, retryable}`,
which the dispatcher classifies: model throttling/5xx/timeouts (after failover) are retryable; a
conditional-write conflict on the transcript too (the retry re-reads it); anything else is not.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

from opentelemetry import trace
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from clawbus.agent.fleet import AgentFleet
from clawbus.agent.journal import answered_once
from clawbus.agent.progress import turn_events
from clawbus.agent.turn import AgentRuntime, run_turn
from clawbus.agent.turn_control import TurnControls, TurnStopped, unless_stopped
from clawbus.bus.errors import ClawbusError, RetryableError, VersionConflict
from clawbus.bus.http_body import BodyTooLarge, read_capped
from clawbus.bus.logging import log_event, session_ref
from clawbus.bus.tracing import extract_context, tracer
from clawbus.schemas import (
    AgentError,
    AgentResponse,
    EnvelopeError,
    TurnStatus,
    parse_agent_request,
)

logger = logging.getLogger(__name__)
_tracer = tracer(__name__)

SESSION_HEADER = "x-amzn-bedrock-agentcore-runtime-session-id"
REQUEST_ID_HEADER = "x-amzn-bedrock-agentcore-runtime-request-id"
RuntimeFactory = Callable[[], AbstractAsyncContextManager[AgentRuntime | AgentFleet]]


class _Health:
    """Busy while turns run or the engine warms up; the timestamp of the last status change."""

    def __init__(self) -> None:
        self.active = 0
        self.warming = False
        self.status = "Healthy"
        self.changed_at = int(time.time())

    def update(self, delta: int = 0, *, warming: bool | None = None) -> None:
        self.active += delta
        if warming is not None:
            self.warming = warming
        status = "HealthyBusy" if self.active or self.warming else "Healthy"
        if status != self.status:
            self.status = status
            self.changed_at = int(time.time())


def error_response(exc: Exception, model: str) -> AgentResponse:
    """A failed turn's reply; unclassified exceptions count as retryable (redrive decides)."""
    retryable = isinstance(exc, RetryableError | VersionConflict) or not isinstance(exc, ClawbusError)
    message = str(exc) if isinstance(exc, ClawbusError) else "internal error in the agent"
    return AgentResponse(
        status=TurnStatus.ERROR,
        error=AgentError(type=type(exc).__name__, message=message, retryable=retryable),
        model=model,
    )


def runtime_session_id(request: Request, session_key: str) -> str:
    """AgentCore's session id, or (called directly, without AgentCore) one derived from the session key."""
    return request.headers.get(SESSION_HEADER) or "local-" + hashlib.sha256(session_key.encode()).hexdigest()


def bearer_token_ok(request: Request, token: SecretStr | None) -> bool:
    """Whether `request` may invoke: no token required, or `Authorization: Bearer <token>` (constant time)."""
    if token is None:
        return True
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        value.strip().encode(), token.get_secret_value().encode()
    )


def create_app(
    runtime: AgentRuntime | AgentFleet | RuntimeFactory,
    max_request_bytes: int = 1_048_576,
    invoke_token: SecretStr | None = None,
) -> Starlette:
    """The agent app; `runtime` is ready, or a factory opened for the app's lifetime (its lifespan).

    With `invoke_token`, `/invocations` requires it as a bearer token (module docstring).
    """
    health = _Health()
    controls = TurnControls()
    holder: list[AgentRuntime | AgentFleet] = (
        [runtime] if isinstance(runtime, AgentRuntime | AgentFleet) else []
    )

    async def ping(_request: Request) -> Response:
        served = holder[0] if holder else None
        engine = (served.default if isinstance(served, AgentFleet) else served).engine if served else None
        health.update(warming=engine is not None and engine.warming)
        return JSONResponse({"status": health.status, "time_of_last_update": health.changed_at})

    async def invocations(request: Request) -> Response:
        if not bearer_token_ok(request, invoke_token):
            log_event(logger, "agent.invoke.refused", logging.WARNING)
            return JSONResponse(
                {"error": "POST /invocations needs 'Authorization: Bearer <CLAWBUS_AGENT__INVOKE_TOKEN>'"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            body = await read_capped(request, max_request_bytes)
        except BodyTooLarge:
            return JSONResponse({"error": f"request body over {max_request_bytes} bytes"}, status_code=413)
        try:
            turn = parse_agent_request(body)
        except EnvelopeError as exc:
            return JSONResponse({"error": f"invalid invocation: {exc}"}, status_code=400)
        if turn.control is not None:  # the control lane: act on the running turn, run none
            report = controls.report(turn)
            log_event(
                logger,
                "agent.control.handled",
                control=turn.control,
                running=report.running,
                stop_requested=report.stop_requested,
                steered=report.steered,
            )
            return Response(AgentResponse(running=report).to_wire(), media_type="application/json")
        served = holder[0]  # many agents: the turn's own agent's runtime (agent/fleet.py)
        try:
            rt = await served.runtime(turn.events[0].agent_id) if isinstance(served, AgentFleet) else served
        except ClawbusError as exc:  # the agent's runtime could not open (its settings): the turn fails
            log_event(
                logger, "agent.turn.failed", logging.WARNING, error=type(exc).__name__, reply_id=turn.reply_id
            )
            return Response(error_response(exc, "").to_wire(), media_type="application/json")
        session = runtime_session_id(request, turn.session_key)

        async def run() -> AgentResponse:
            started = time.monotonic()
            health.update(+1)
            try:
                # the dispatcher's span (AgentCore passes its traceparent on) is this turn's parent
                with (
                    _tracer.start_as_current_span(
                        "agent.turn", context=extract_context(request.headers), kind=trace.SpanKind.SERVER
                    ),
                    controls.running(turn, steerable=rt.engine is None or rt.engine.steerable),
                ):
                    if rt.engine is not None:  # a finished turn's answer is kept: a re-run answers it
                        response = await unless_stopped(answered_once(rt.journal, turn, rt.engine.run))
                    else:
                        response = await run_turn(turn, session, rt)
            except TurnStopped:  # `/stop`: nothing of the turn is kept or answered
                response = AgentResponse(stopped=True, model=rt.engine.model if rt.engine else rt.model.name)
            except Exception as exc:  # the turn's outermost guard: classify, answer, stay up
                response = error_response(exc, rt.engine.model if rt.engine is not None else rt.model.name)
                level = logging.WARNING if isinstance(exc, ClawbusError) else logging.ERROR
                log_event(
                    logger, "agent.turn.failed", level, error=type(exc).__name__, reply_id=turn.reply_id
                )
            finally:
                health.update(-1)
            log_event(
                logger,
                "agent.turn.completed",
                reply_id=turn.reply_id,
                session=session_ref(turn.session_key),
                runtime_session=session_ref(session),
                status=response.status.value,
                model=response.model,
                parts=len(response.parts),
                duration_ms=round((time.monotonic() - started) * 1000, 1),
            )
            return response

        if turn.stream:  # events from the first byte on: progress lines, then the answer (or its error)
            return StreamingResponse(turn_events(run), media_type="text/event-stream")
        return Response((await run()).to_wire(), media_type="application/json")

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if invoke_token is None:
            log_event(
                logger,
                "agent.invoke.unguarded",
                reason="CLAWBUS_AGENT__INVOKE_TOKEN is unset: POST /invocations accepts any caller, as it "
                "must behind AgentCore Runtime (the only thing that reaches the container in AWS); "
                "'clawbus up' always sets one",
            )
        if holder:
            yield
            return
        assert not isinstance(runtime, AgentRuntime | AgentFleet)
        async with runtime() as opened:
            holder.append(opened)
            yield

    return Starlette(
        routes=[Route("/ping", ping), Route("/invocations", invocations, methods=["POST"])],
        lifespan=lifespan,
    )
