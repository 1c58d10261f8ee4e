"""Calling the agent through AgentCore Runtime's `InvokeAgentRuntime`.

The same aiobotocore `bedrock-agentcore` client runs against AWS and against the embedded default's
loopback data-plane endpoint; only `endpoint_url` differs, so the request we sign and the response we
parse are the real ones. AgentCore's modelled errors are classified here, once:

| error                                                  | ours           |
|--------------------------------------------------------|----------------|
| ThrottlingException, ServiceQuotaExceededException     | Throttled      |
| RetryableConflictException, InternalServerException    | Unavailable    |
| RuntimeClientError (the container failed)              | Unavailable (bounded by the retry policy) |
| ValidationException                                    | AgentRejected  |
| AccessDeniedException                                  | Unauthorized   |
| ResourceNotFoundException                              | TargetGone     |

The invoke is this call site's one retry policy (`bus/retry.py`; `dispatcher.max_attempts` tries, backing
off): botocore makes a single attempt and the consumer none, so a turn's worst case is
`max_attempts` times the queue's `DLQ_MAX_RECEIVE_COUNT` invokes. A streamed turn is retried only until its
first block was yielded (after that, the turn handler has published it; the queue retries the turn).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from clawbus.bus.aws import map_aws_errors
from clawbus.bus.errors import (
    AgentRejected,
    ClawbusError,
    TargetGone,
    Throttled,
    Unauthorized,
    Unavailable,
)
from clawbus.bus.logging import log_event
from clawbus.bus.retry import RetryIn, RetryPolicy
from clawbus.bus.settings import AgentCoreSettings
from clawbus.dispatcher.core.progress_plan import ProgressNote
from clawbus.schemas import (
    AgentRequest,
    AgentResponse,
    EnvelopeError,
    TurnStatus,
    parse_agent_response,
    runtime_session_id,
)

if TYPE_CHECKING:
    from types_aiobotocore_bedrock_agentcore import BedrockAgentCoreClient

logger = logging.getLogger(__name__)
INVOKE_POLICY = RetryPolicy(attempts=3, base_s=0.5, max_s=5.0)

_BY_CODE: dict[str, type[ClawbusError]] = {
    "ThrottlingException": Throttled,
    "ServiceQuotaExceededException": Throttled,
    "RetryableConflictException": Unavailable,
    "InternalServerException": Unavailable,
    "RuntimeClientError": Unavailable,
    "ValidationException": AgentRejected,
    "AccessDeniedException": Unauthorized,
    "ResourceNotFoundException": TargetGone,
}


def classify_agentcore_error(exc: ClientError) -> ClawbusError:
    """One of ours for an InvokeAgentRuntime `ClientError` (unknown codes: by HTTP status)."""
    code = str(exc.response.get("Error", {}).get("Code", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    message = f"InvokeAgentRuntime: {code or 'error'} ({status})"
    kind = _BY_CODE.get(code)
    if kind is None:
        kind = Unavailable if status >= 500 or status in (0, 429) else AgentRejected
    return kind(message)


def parse_sse_line(line: str) -> str | AgentResponse | ProgressNote | None:
    """One `data:` line of the agent's event stream: a text block, the final response, a progress note
    (`agent/progress.py`), or nothing."""
    if not line.startswith("data:"):
        return None
    data: Any = json.loads(line[5:].strip() or "null")
    if isinstance(data, dict) and "schema_version" in data:
        return parse_agent_response(json.dumps(data))
    if isinstance(data, dict) and isinstance(data.get("progress"), str):
        return ProgressNote(str(data["progress"])[:200])
    if isinstance(data, dict) and isinstance(data.get("text"), str):
        return str(data["text"])
    return data if isinstance(data, str) else None


def _response_from_sse(body: bytes) -> AgentResponse:
    """The turn's response from a whole `text/event-stream` body: its blocks, under its final object."""
    blocks: list[str] = []
    final: AgentResponse | None = None
    for line in body.decode("utf-8", errors="replace").splitlines():
        item = parse_sse_line(line)
        if isinstance(item, str):
            blocks.append(item)
        elif isinstance(item, AgentResponse):
            final = item
    joined = ("".join(blocks),) if blocks else ()
    if final is None:
        return AgentResponse(parts=joined)
    return final if final.parts else final.model_copy(update={"parts": joined})


class AgentCoreInvoker:
    """Invokes the agent runtime for one turn and returns its parsed response."""

    def __init__(
        self,
        client: BedrockAgentCoreClient,
        settings: AgentCoreSettings,
        *,
        send_user_id: bool = False,
        policy: RetryPolicy = INVOKE_POLICY,
    ) -> None:
        self._client = client
        self._settings = settings
        self._send_user_id = send_user_id
        self._policy = policy

    def _arguments(self, request: AgentRequest, traceparent: str | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "agentRuntimeArn": self._settings.runtime_arn,
            "qualifier": self._settings.qualifier,
            "runtimeSessionId": runtime_session_id(request.session_key),
            "contentType": "application/json",
            "accept": "application/json, text/event-stream",
            "payload": request.to_wire().encode("utf-8"),
        }
        if traceparent:
            kwargs["traceParent"] = traceparent
        sender = request.events[-1].sender
        if self._send_user_id and sender is not None:
            kwargs["runtimeUserId"] = f"{request.events[-1].channel}:{sender.id}"[:1024]
        return kwargs

    async def invoke(self, request: AgentRequest, *, traceparent: str | None = None) -> AgentResponse:
        """Run the turn; raises a classified `ClawbusError` on failure.

        Retried by the invoker's policy. Safe to retry: the request carries the turn's stable `reply_id`,
        and the runtime session id is derived from the session key, so a retry lands in the same AgentCore
        session.
        """
        kwargs = self._arguments(request, traceparent)
        return await self._policy.run(lambda: self._invoke_once(kwargs), on_retry=_log_retry)

    async def _invoke_once(self, kwargs: dict[str, Any]) -> AgentResponse:
        try:
            with map_aws_errors("InvokeAgentRuntime"):
                try:
                    response = await self._client.invoke_agent_runtime(**kwargs)
                    async with response["response"] as stream:
                        body = await stream.read()
                except ClientError as exc:
                    raise classify_agentcore_error(exc) from exc
            content_type = response.get("contentType", "application/json")
            result = (
                _response_from_sse(body)
                if content_type.startswith("text/event-stream")
                else parse_agent_response(body)
            )
        except (EnvelopeError, json.JSONDecodeError) as exc:
            raise Unavailable(f"InvokeAgentRuntime: the agent's response is not valid ({exc})") from exc
        return _checked(result)

    async def stream(
        self, request: AgentRequest, *, traceparent: str | None = None
    ) -> AsyncIterator[str | AgentResponse | ProgressNote]:
        """Run the turn with block streaming: yield each progress note and text block as it arrives, then
        the response.

        Raises a classified `ClawbusError` like `invoke` (possibly after some blocks were yielded); a
        failure before the first block is retried by the invoker's policy.
        """
        kwargs = self._arguments(request.model_copy(update={"stream": True}), traceparent)
        kwargs["accept"] = "text/event-stream"
        attempt = 0
        while True:
            attempt += 1
            yielded = False
            try:
                async for item in self._stream_once(kwargs):
                    yielded = yielded or isinstance(item, str)
                    yield item
            except ClawbusError as exc:
                decision = self._policy.decide(exc, attempt)
                if yielded or not isinstance(decision, RetryIn):
                    raise
                _log_retry(exc, attempt)
                await asyncio.sleep(decision.seconds)
            else:
                return

    async def _stream_once(self, kwargs: dict[str, Any]) -> AsyncIterator[str | AgentResponse | ProgressNote]:
        blocks: list[str] = []
        final: AgentResponse | None = None
        try:
            with map_aws_errors("InvokeAgentRuntime"):
                try:
                    response = await self._client.invoke_agent_runtime(**kwargs)
                    async with response["response"] as stream:
                        if not response.get("contentType", "").startswith("text/event-stream"):
                            final = parse_agent_response(await stream.read())
                        else:
                            async for raw in stream.iter_lines():
                                item = parse_sse_line(raw.decode("utf-8", errors="replace"))
                                if isinstance(item, str):
                                    blocks.append(item)
                                    yield item
                                elif isinstance(item, ProgressNote):
                                    yield item
                                elif item is not None:
                                    final = item
                except ClientError as exc:
                    raise classify_agentcore_error(exc) from exc
        except (EnvelopeError, json.JSONDecodeError) as exc:
            raise Unavailable(f"InvokeAgentRuntime: the agent's stream is not valid ({exc})") from exc
        if final is None:
            final = AgentResponse(parts=("".join(blocks),) if blocks else ())
        yield _checked(final)


def _log_retry(error: BaseException, attempt: int) -> None:
    log_event(
        logger,
        "dispatcher.invoke.retrying",
        logging.WARNING,
        attempt=attempt,
        error_type=type(error).__name__,
        reason=str(error)[:300],
    )


def _checked(result: AgentResponse) -> AgentResponse:
    """`result`, or the classified error it reports."""
    if result.status is TurnStatus.ERROR:
        error = result.error
        # The agent's reason is clawbus's own classified message (never a prompt or a key): the dead
        # letter and the retry log must say why, not only which kind of error.
        detail = f"agent turn failed: {error.type}: {error.message[:500]}" if error else "agent turn failed"
        if error is not None and error.retryable:
            raise Unavailable(detail)
        raise AgentRejected(detail)
    return result
