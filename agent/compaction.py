"""Context windowing and compaction, as OpenClaw does it: summarise older turns, keep recent ones.

A model has a token budget (its context window minus a reserve). Before a model call, when the system
prompt plus the session's context is over that budget, the older messages are summarised by the model
into a `compaction` entry and only the recent ones (about `keep_recent_tokens`) stay verbatim. The cut
is always before a user's own message, so a tool call is never separated from its result. Token counts
are estimated (about 4 characters a token): a budget, not a bill.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clawbus.agent.models.base import Media, Message, Text, ToolCall, ToolResult
from clawbus.agent.models.media_text import media_text

SUMMARY_SYSTEM = (
    "Summarise the conversation below for your own future reference: decisions, facts about the user, "
    "open tasks, and anything promised. Be concise; write plain text."
)
MAX_SUMMARY_CHARS = 8_000
IMAGE_TOKENS = 1_600  # about what one image costs a vision model (issue 20)


def estimate_tokens(text: str) -> int:
    """About 4 characters per token, rounded up."""
    return (len(text) + 3) // 4


def message_tokens(message: Message) -> int:
    """Estimated tokens of one message (text, tool call names and inputs, tool results)."""
    total = 4
    for block in message.blocks:
        if isinstance(block, Text):
            total += estimate_tokens(block.text)
        elif isinstance(block, ToolCall):
            total += estimate_tokens(block.name + str(block.input))
        elif isinstance(block, Media):
            total += IMAGE_TOKENS if block.data else estimate_tokens(media_text(block))
        else:
            total += estimate_tokens(block.text)
    return total


@dataclass(frozen=True)
class CompactionPlan:
    """Summarise `older`; keep the messages from entry `first_kept` on."""

    older: tuple[Message, ...]
    first_kept: str
    tokens_before: int


def _is_turn_start(message: Message) -> bool:
    return message.role == "user" and not any(isinstance(b, ToolResult) for b in message.blocks)


def plan_compaction(
    system_tokens: int, messages: Sequence[tuple[str, Message]], budget: int, keep_recent_tokens: int
) -> CompactionPlan | None:
    """What to compact, or None when the context fits (or nothing older than the last turn is left)."""
    sizes = [message_tokens(m) for _id, m in messages]
    total = system_tokens + sum(sizes)
    if total <= budget:
        return None
    starts = [i for i, (_id, m) in enumerate(messages) if _is_turn_start(m) and i > 0]
    if not starts:
        return None
    cut = starts[-1]  # keep at least the latest turn
    for i in starts:  # the earliest turn start whose tail fits the keep-recent allowance
        if sum(sizes[i:]) <= keep_recent_tokens:
            cut = i
            break
    return CompactionPlan(tuple(m for _id, m in messages[:cut]), messages[cut][0], total)


def render_for_summary(previous: str | None, older: Sequence[Message]) -> str:
    """The text the summariser reads: the previous summary, then the older messages by role."""
    lines = [f"Earlier summary:\n{previous}\n"] if previous else []
    for message in older:
        for block in message.blocks:
            if isinstance(block, Text):
                lines.append(f"{message.role}: {block.text}")
            elif isinstance(block, ToolCall):
                lines.append(f"assistant called {block.name}")
            elif isinstance(block, Media):
                lines.append(f"{message.role}: {media_text(block)[:500]}")
            else:
                lines.append(f"tool result: {block.text[:500]}")
    return "\n".join(lines)
