"""Calling the agent through AgentCore Runtime's `InvokeAgentRuntime`.

The same aiobotocore `bedrock-agentcore` client runs against AWS and against the embedded default's
loopback data-plane endpoint; only `endpoint_url` differs, so the request we sign and the response we
parse are the real ones. AgentCore's modelled errors are classified here, once:

| error                                                  | ours           |
|--------------------------------------------------------|----------------|
| ThrottlingException, ServiceQuotaExceededException     | Throttled      |
| RetryableConflictException, InternalServerException    | Unavailable    |
| RuntimeClientError (the container failed)              | Unavailable (bounded by the consumer's attempts) |
| ValidationException                                    | AgentRejected  |
| AccessDeniedException                                  | Unauthorized   |
| ResourceNotFoundException                              | TargetGone     |
"""

from __future__ import annotations

import json
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
from clawbus.bus.settings import AgentCoreSettings
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


def _response_from_sse(body: bytes) -> AgentResponse:
    """The turn's response from a `text/event-stream` body: text chunks, or a final response object."""
    parts: list[str] = []
    for line in body.decode("utf-8", errors="replace").splitlines():
        if not line.startswith("data:"):
            continue
        data: Any = json.loads(line[5:].strip() or "null")
        if isinstance(data, dict) and "schema_version" in data:
            return parse_agent_response(json.dumps(data))
        if isinstance(data, dict) and isinstance(data.get("text"), str):
            parts.append(data["text"])
        elif isinstance(data, str):
            parts.append(data)
    return AgentResponse(parts=("".join(parts),) if parts else ())


class AgentCoreInvoker:
    """Invokes the agent runtime for one turn and returns its parsed response."""

    def __init__(
        self, client: BedrockAgentCoreClient, settings: AgentCoreSettings, *, send_user_id: bool = False
    ) -> None:
        self._client = client
        self._settings = settings
        self._send_user_id = send_user_id

    async def invoke(self, request: AgentRequest, *, traceparent: str | None = None) -> AgentResponse:
        """Run the turn; raises a classified `ClawbusError` on failure.

        Safe to retry: the request carries the turn's stable `reply_id`, and the runtime session id is
        derived from the session key, so a retry lands in the same AgentCore session.
        """
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
        if result.status is TurnStatus.ERROR:
            error = result.error
            detail = f"agent turn failed: {error.type if error else 'unknown'}"
            if error is not None and error.retryable:
                raise Unavailable(detail)
            raise AgentRejected(detail)
        return result
