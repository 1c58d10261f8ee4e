"""What the loop and a model exchange: messages of content blocks, tool specs, one reply per call.

The shape follows Bedrock's Converse API (a message is a role and a list of blocks; tool results travel
in a user message), which maps one-to-one onto OpenAI's chat format too. A `Model` raises only
clawbus errors: `Throttled`/`Unavailable`/`DeadlineExceeded` (the loop fails over to the next model) or a
`PermanentError` (it does not).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Json = Any  # a JSON value: what a tool receives and what a model's tool call carries


@dataclass(frozen=True)
class Text:
    """Plain text from the user or the model."""

    text: str


@dataclass(frozen=True)
class ToolCall:
    """The model asks to run tool `name` with `input`; `id` pairs it with its result."""

    id: str
    name: str
    input: dict[str, Json]


@dataclass(frozen=True)
class ToolResult:
    """What a tool returned (or why it failed, with `is_error`), for the call `tool_use_id`."""

    tool_use_id: str
    text: str
    is_error: bool = False


@dataclass(frozen=True)
class Media:
    """A file the user sent (issue 20), as the model gets it: an image's bytes (`data`, this turn only:
    the transcript keeps the reference, never the bytes), a document's text or a voice note's
    transcript (`text`), or why it was not accepted (`refused`); `not_transcribed` says why a voice note
    has no transcript (the file itself arrived). `agent/media` builds them."""

    media_type: str
    size: int
    name: str | None = None
    kind: str = "document"
    key: str = ""
    data: bytes | None = None
    text: str | None = None
    refused: str | None = None
    not_transcribed: str | None = None


Block = Text | ToolCall | ToolResult | Media


@dataclass(frozen=True)
class Message:
    """One conversation message: a role and its blocks."""

    role: Literal["user", "assistant"]
    blocks: tuple[Block, ...]

    @property
    def text(self) -> str:
        """The message's text blocks, joined."""
        return "\n".join(b.text for b in self.blocks if isinstance(b, Text))

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        """The tool calls the message holds (assistant messages)."""
        return tuple(b for b in self.blocks if isinstance(b, ToolCall))


def user(text: str) -> Message:
    """A user message of plain text."""
    return Message("user", (Text(text),))


def assistant(text: str = "", *calls: ToolCall) -> Message:
    """An assistant message: optional text, then tool calls."""
    blocks: tuple[Block, ...] = ((Text(text),) if text else ()) + calls
    return Message("assistant", blocks)


@dataclass(frozen=True)
class ToolSpec:
    """A tool as the model sees it: name, what it does, JSON Schema of its input."""

    name: str
    description: str
    input_schema: dict[str, Json]


@dataclass(frozen=True)
class Usage:
    """Token counts the provider reported (0 when it did not)."""

    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True)
class ModelReply:
    """One model call's answer: the assistant message, why it stopped, the usage, who answered."""

    message: Message
    stop_reason: str = "end_turn"
    usage: Usage = field(default_factory=Usage)
    model: str = ""


class Model(Protocol):
    """One call: system prompt, conversation, tools in; the assistant's next message out."""

    @property
    def name(self) -> str:
        """`provider/model`, as configured (`bedrock/anthropic.claude-…`, `offline/echo`)."""
        ...

    async def converse(
        self, system: str, messages: Sequence[Message], tools: Sequence[ToolSpec]
    ) -> ModelReply:
        """The next assistant message. Raises `RetryableError` or `PermanentError` subclasses only."""
        ...
