"""The body of `InvokeAgentRuntime`: what the dispatcher asks the agent, and what it answers.

AgentCore passes the request body to the container's `POST /invocations` unchanged and returns the
container's response body, so this contract is between the dispatcher and `agent/` only. The response
says whether a failure is worth retrying, so the dispatcher can classify it without parsing prose.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from clawbus.schemas._base import WireModel
from clawbus.schemas._versioning import read_versioned
from clawbus.schemas.inbound import InboundEvent
from clawbus.schemas.outbound import ReplyMedia


class AgentRequestV1(WireModel):
    """One turn: the events it consumes (one, or several merged in `collect` mode), in order.

    `stream` asks for block streaming: the agent answers `text/event-stream`, one `data: {"text": …}`
    event per block as it is ready, then `data: <AgentResponse>` as the last event.
    """

    schema_version: Literal[1] = 1
    session_key: str = Field(min_length=1)
    reply_id: str = Field(min_length=1)
    events: tuple[InboundEvent, ...] = Field(min_length=1)
    stream: bool = False
    # A control invocation (added compatibly; absent: a turn): act on the session's running turn instead
    # of running one (`stop` it at its next boundary, report its `status`, `steer` the event into it at
    # its next boundary, or `interrupt` it for the event: stop it silently); see docs/queue.md.
    control: Literal["stop", "status", "steer", "interrupt"] | None = None


class TurnStatus(StrEnum):
    """How the turn ended."""

    OK = "ok"
    ERROR = "error"


class AgentError(WireModel):
    """A failed turn, classified by the agent: `retryable` means the same turn may succeed later."""

    type: str
    message: str
    retryable: bool


class RunningTurnReport(WireModel):
    """A control invocation's answer: whether a turn of the session runs, which one, for how long."""

    running: bool
    reply_id: str | None = None
    running_s: float | None = None
    stop_requested: bool = False
    # Added compatibly: a `steer` was taken into the running turn (False: refused, it waits as followup).
    steered: bool | None = None


class AgentResponseV1(WireModel):
    """The agent's answer: text parts in order (empty when the agent chose silence, e.g. `NO_REPLY`),
    then the files it attached (`media`, stored in the state bucket by the agent)."""

    schema_version: Literal[1] = 1
    status: TurnStatus = TurnStatus.OK
    parts: tuple[str, ...] = ()
    error: AgentError | None = None
    model: str | None = None
    media: tuple[ReplyMedia, ...] = ()
    # Added compatibly: the turn was stopped (`/stop`) before it answered; it answers nothing.
    stopped: bool | None = None
    # Added compatibly: a control invocation's report on the session's running turn.
    running: RunningTurnReport | None = None
    # Added compatibly: the events steered into this turn while it ran (`control: "steer"`), in the order
    # the model saw them; the dispatcher records them with the turn, so their own copies run no turn.
    steered: tuple[str, ...] = ()


AgentRequest = AgentRequestV1
AgentResponse = AgentResponseV1


def parse_agent_request(text: str | bytes) -> AgentRequest:
    """Read an invocation body. Raises `EnvelopeError` (or `UnsupportedSchemaVersion`)."""
    return read_versioned(text, {1: AgentRequestV1}, "agent request")


def parse_agent_response(text: str | bytes) -> AgentResponse:
    """Read an invocation response. Raises `EnvelopeError` (or `UnsupportedSchemaVersion`)."""
    return read_versioned(text, {1: AgentResponseV1}, "agent response")
