"""One agent turn: the events of a turn become a conversation, the model's answer becomes reply parts.

OpenClaw's silent token applies: an answer that is exactly `NO_REPLY` (any case) is not delivered.
"""

from __future__ import annotations

from clawbus.schemas import AgentRequest, AgentResponse, EventKind

from .providers import ChatMessage, ModelProvider

SILENT_TOKEN = "NO_REPLY"  # noqa: S105  # not a secret: OpenClaw's silent reply


def conversation(request: AgentRequest) -> list[ChatMessage]:
    """The messages the model sees for this turn (the transcript joins here in the state issue)."""
    texts = [event.text for event in request.events if event.kind is EventKind.MESSAGE or event.text]
    return [ChatMessage(role="user", content="\n".join(texts))]


def to_response(answer: str, model: str) -> AgentResponse:
    """The turn's response for the model's `answer` (silence for `NO_REPLY`)."""
    if answer.strip().upper() == SILENT_TOKEN:
        return AgentResponse(parts=(), model=model)
    return AgentResponse(parts=(answer,), model=model)


async def run_turn(request: AgentRequest, provider: ModelProvider) -> AgentResponse:
    """Run one turn against `provider`."""
    answer = await provider.complete(conversation(request))
    return to_response(answer, provider.name)
