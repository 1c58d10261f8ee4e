"""A loopback AgentCore Runtime data plane, for the embedded default.

moto does not emulate AgentCore, so this small server answers botocore's `bedrock-agentcore`
`InvokeAgentRuntime` (`POST /runtimes/{agentRuntimeArn}/invocations?qualifier=…`) the way the service does:
it checks the runtime ARN and session id, forwards the payload to the agent container's
`POST /invocations` with the headers AgentCore sends (session id, request id, trace context), and returns
the container's body and content type (an event stream passed on as it comes, as AgentCore streams it:
a draft's progress and its cold-start notice depend on when the first byte arrives). Failures come back
as AgentCore's modelled errors (rest-json, with `x-amzn-ErrorType`), so the dispatcher's error handling
is exercised for real:

- not signed (SigV4) with the run's loopback key pair → 403 (`local.auth`, as the loopback AWS API)
- unknown runtime ARN → 404 ResourceNotFoundException
- session id outside 33-256 characters → 400 ValidationException
- container unreachable, non-2xx, or timed out → 424 RuntimeClientError

It forwards with `Authorization: Bearer <invoke token>` when the agent requires one
(`CLAWBUS_AGENT__INVOKE_TOKEN`, which `clawbus up` always sets).

Two test seams, both off unless used: fault rules (`agent/faults.py`, `/_clawbus/faults`, which needs
the secret access key as a bearer token, since a rule can fail every turn) answer with any modelled
error or a malformed body, or slow an invocation down; and `stub_latency_s` makes the endpoint answer
turns itself after that latency (an echo) instead of forwarding — the stub agent `clawbus bench`
measures the bus with.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import httpx
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from clawbus.agent.faults import ERROR_STATUS, FaultBook, FaultRule
from clawbus.bus.logging import log_event
from clawbus.local.auth import (
    LoopbackCredentials,
    ReceivedRequest,
    SignatureRefused,
    bearer_matches,
    check_signature,
    refusal,
)
from clawbus.schemas import AgentResponse, EnvelopeError, parse_agent_request

logger = logging.getLogger(__name__)

SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
REQUEST_ID_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Request-Id"
_PASS_THROUGH = ("traceparent", "tracestate", "baggage", "content-type", "accept")


def modelled_error(code: str, status: int, message: str) -> Response:
    """An AgentCore error response in rest-json form (botocore reads the code from the header)."""
    return JSONResponse(
        {"message": message, "__type": code}, status_code=status, headers={"x-amzn-ErrorType": code}
    )


def _stub_answer(body: bytes) -> Response:
    try:
        request = parse_agent_request(body)
    except EnvelopeError as exc:
        return modelled_error("RuntimeClientError", 424, f"agent rejected the payload: {exc}")
    text = request.events[-1].text
    answer = AgentResponse(parts=(f"(stub agent) {text}",), model="stub")
    return Response(answer.to_wire(), media_type="application/json")


def _received(request: Request, body: bytes) -> ReceivedRequest:
    """The request as sent (uvicorn keeps the raw, still percent-encoded path)."""
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    return ReceivedRequest(
        method=request.method,
        raw_path=raw_path.decode("latin-1"),
        query=request.scope.get("query_string", b"").decode("latin-1"),
        headers={name: ",".join(request.headers.getlist(name)) for name in request.headers},
        body=body,
    )


Handler = Callable[[Request], Awaitable[Response]]


def create_app(
    agent_url: str,
    runtime_arn: str,
    timeout_s: float = 900.0,
    stub_latency_s: float | None = None,
    *,
    credentials: LoopbackCredentials,
    invoke_token: SecretStr | None = None,
    hint: str = "",
) -> Starlette:
    """The data-plane app forwarding invocations of `runtime_arn` to the container at `agent_url`.

    Only invocations signed with `credentials` are served (`hint`, in each refusal, says where they are);
    each is forwarded with `invoke_token` as a bearer token when set.
    """
    client = httpx.AsyncClient(base_url=agent_url, timeout=httpx.Timeout(timeout_s, connect=5.0))
    faults = FaultBook()

    async def invoke(request: Request) -> Response:
        body = await request.body()  # before any injected delay: the caller may give up meanwhile
        received = _received(request, body)
        try:
            check_signature(received, credentials, datetime.now(UTC))
        except SignatureRefused as exc:
            log_event(logger, "agentcore.invoke.refused", logging.WARNING, code=exc.code)
            headers, answer = refusal(exc, received.headers, hint, "bedrock-agentcore")
            return Response(answer, status_code=403, headers=headers)
        arn = request.path_params["arn"]
        if arn != runtime_arn:
            return modelled_error("ResourceNotFoundException", 404, f"no agent runtime {arn}")
        session_id = request.headers.get(SESSION_HEADER) or str(uuid.uuid4())
        if not 33 <= len(session_id) <= 256:
            return modelled_error("ValidationException", 400, "runtimeSessionId must be 33-256 characters")
        fault = faults.take(session_id)
        if fault is not None and fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        if fault is not None and fault.error:
            return modelled_error(fault.error, ERROR_STATUS[fault.error], f"injected {fault.error}")
        if fault is not None and fault.malformed:
            return Response(b'{"parts": ["cut off', media_type="application/json")
        if stub_latency_s is not None:
            if stub_latency_s:
                await asyncio.sleep(stub_latency_s)
            return _stub_answer(body)
        headers = {k: v for k, v in request.headers.items() if k.lower() in _PASS_THROUGH}
        headers[SESSION_HEADER] = session_id
        headers[REQUEST_ID_HEADER] = str(uuid.uuid4())
        if invoke_token is not None:
            headers["Authorization"] = f"Bearer {invoke_token.get_secret_value()}"
        try:
            upstream = await client.send(
                client.build_request("POST", "/invocations", content=body, headers=headers), stream=True
            )
        except httpx.HTTPError as exc:
            log_event(logger, "agentcore.invoke.failed", logging.WARNING, reason=type(exc).__name__)
            return modelled_error(
                "RuntimeClientError", 424, f"agent container unreachable: {type(exc).__name__}"
            )
        if upstream.status_code >= 300:
            await upstream.aclose()
            log_event(logger, "agentcore.invoke.failed", logging.WARNING, status=upstream.status_code)
            return modelled_error(
                "RuntimeClientError", 424, f"agent container answered HTTP {upstream.status_code}"
            )
        media_type = upstream.headers.get("content-type", "application/json")
        if media_type.startswith("text/event-stream"):  # passed on as it comes, as AgentCore streams
            return StreamingResponse(
                upstream.aiter_raw(),
                media_type=media_type,
                headers={SESSION_HEADER: session_id},
                background=BackgroundTask(upstream.aclose),
            )
        try:
            content = await upstream.aread()
        except httpx.HTTPError as exc:
            return modelled_error("RuntimeClientError", 424, f"agent container cut off: {type(exc).__name__}")
        finally:
            await upstream.aclose()
        return Response(content, status_code=200, media_type=media_type, headers={SESSION_HEADER: session_id})

    async def add_fault(request: Request) -> Response:
        try:
            rule = FaultRule.model_validate_json(await request.body())
            faults.add(rule)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(rule.model_dump(), status_code=201)

    async def list_faults(_request: Request) -> Response:
        return JSONResponse([rule.model_dump() for rule in faults.rules()])

    async def clear_faults(_request: Request) -> Response:
        faults.clear()
        return Response(status_code=204)

    async def ping(_request: Request) -> Response:
        return JSONResponse({"status": "ok", "runtime": runtime_arn, "agent": agent_url})

    def admin(handler: Handler) -> Handler:
        """`handler` for callers holding the secret access key (as a bearer token) only."""

        async def guarded(request: Request) -> Response:
            if not bearer_matches(request.headers.get("authorization"), credentials.secret_access_key):
                log_event(logger, "agentcore.faults.refused", logging.WARNING)
                return JSONResponse(
                    {"error": f"needs 'Authorization: Bearer <secret access key>'. {hint}".strip()},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            return await handler(request)

        return guarded

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with client:
            yield

    return Starlette(
        routes=[
            Route("/runtimes/{arn:path}/invocations", invoke, methods=["POST"]),
            Route("/healthz", ping),
            Route("/_clawbus/faults", admin(add_fault), methods=["POST"]),
            Route("/_clawbus/faults", admin(clear_faults), methods=["DELETE"]),
            Route("/_clawbus/faults", admin(list_faults), methods=["GET"]),
        ],
        lifespan=lifespan,
    )
