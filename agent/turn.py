"""One agent turn: the events of a turn become a conversation, the model's answer becomes reply parts.

OpenClaw's silent token applies: an answer that is exactly `NO_REPLY` (any case) is not delivered, and
neither is a `HEARTBEAT_OK` acknowledgement (`agent.heartbeat.strip_heartbeat_token`).
"""

from __future__ import annotations

from clawbus.schemas import AgentRequest, AgentResponse, EventKind

from .heartbeat import strip_heartbeat_token
from .providers import ChatMessage, ModelProvider

SILENT_TOKEN = "NO_REPLY"  # noqa: S105  # not a secret: OpenClaw's silent reply


def conversation(request: AgentRequest) -> list[ChatMessage]:
    """The messages the model sees for this turn (the transcript joins here in the state issue)."""
    texts = [event.text for event in request.events if event.kind is EventKind.MESSAGE or event.text]
    return [ChatMessage(role="user", content="\n".join(texts))]


def to_response(answer: str, model: str, *, heartbeat: bool = False) -> AgentResponse:
    """The turn's response for the model's `answer` (silence for `NO_REPLY` and heartbeat acks)."""
    if answer.strip().upper() == SILENT_TOKEN:
        return AgentResponse(parts=(), model=model)
    text = strip_heartbeat_token(answer, heartbeat=heartbeat)
    return AgentResponse(parts=() if text is None else (text,), model=model)


async def run_turn(request: AgentRequest, provider: ModelProvider) -> AgentResponse:
    """Run one turn against `provider`."""
    answer = await provider.complete(conversation(request))
    return to_response(answer, provider.name)
