"""Model providers: what the agent's loop asks for a completion.

`ModelProvider` is the one method the loop needs. The embedded default uses `OfflineEchoProvider`, a
deterministic, offline stand-in (no tokens, no network) that is named as such in every reply, so nobody
mistakes it for a model. Real providers (Amazon Bedrock, OpenAI-compatible endpoints) plug in here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True)
class ChatMessage:
    """One message of the conversation sent to the model."""

    role: Literal["system", "user", "assistant"]
    content: str


class ModelProvider(Protocol):
    """Completes a conversation; raises a `ClawbusError` subclass on failure."""

    name: str

    async def complete(self, messages: Sequence[ChatMessage]) -> str: ...


class OfflineEchoProvider:
    """A deterministic offline model: answers by quoting the user's last message back.

    Same input, same answer; no network, no credentials. Replies say they come from the offline model and
    how to switch to a real one.
    """

    name = "offline/echo"

    async def complete(self, messages: Sequence[ChatMessage]) -> str:
        """Echo the last user message (several merged messages are echoed line by line)."""
        last = next((m.content for m in reversed(messages) if m.role == "user"), "")
        if not last.strip():
            return "(offline echo model) I received an empty message."
        return f"(offline echo model) You said: {last}"


def provider_for(model: str) -> ModelProvider:
    """The provider for a `provider/model` string; only `offline/echo` ships in this build."""
    if model == OfflineEchoProvider.name:
        return OfflineEchoProvider()
    raise ValueError(f"unknown model {model!r}; set CLAWBUS_AGENT__MODEL=offline/echo")
