"""Offline models: deterministic, no network, no tokens.

`OfflineEcho` is the embedded default's model: it quotes the user's last message back, says so and how
many user turns it saw (`echo.py`, the rule the OpenClaw engine's echo shares), and acknowledges heartbeat
polls with `HEARTBEAT_OK` (so an offline install never pings anybody). For tests
it can also turn `/<tool> {json}` into that tool call, but only when built with `tool_syntax`
(`CLAWBUS_AGENT__DEV_TOOL_SYNTAX`): otherwise anyone who may talk to the bot could run any tool by
typing its name, so by default such a message is echoed like any other.
`ScriptedModel` plays back a script of replies (or errors) and records what it was sent: the model of
the agent's tests, driving multi-step tool turns exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clawbus.agent.heartbeat import HEARTBEAT_PROMPT
from clawbus.agent.models.base import Media, Message, ModelReply, ToolCall, ToolResult, ToolSpec, assistant
from clawbus.agent.models.echo import echo_reply, heartbeat_command, tool_command
from clawbus.agent.models.media_text import describe
from clawbus.bus.errors import ClawbusError, PermanentError

NATIVE = "native"  # the engine label in the echo's replies


def _user_texts(messages: Sequence[Message]) -> list[str]:
    """The texts of the user's own messages (tool results travel in user messages too: not those)."""
    return [
        m.text for m in messages if m.role == "user" and not any(isinstance(b, ToolResult) for b in m.blocks)
    ]


def _sent(messages: Sequence[Message]) -> list[str]:
    """What the last user message carried, one line per file: its type, size and name, a voice note's
    transcript (issue 20). Refused files are left out: the reply says so on its own."""
    last = next((m for m in reversed(messages) if m.role == "user"), None)
    lines = []
    for block in last.blocks if last is not None else ():
        if isinstance(block, Media) and not block.refused:
            heard = f" saying '{block.text}'" if block.kind in ("voice", "audio") and block.text else ""
            if block.not_transcribed:
                heard = f" (could not transcribe: {block.not_transcribed})"
            lines.append(describe(block) + heard)
    return lines


class OfflineEcho:
    """Answers by quoting the user's last message; same input, same answer.

    With `tool_syntax` it drives tools too, so they work end to end offline in tests: a message
    `/<tool> {json}` naming a tool the turn offers becomes that tool call (on a heartbeat poll, the first
    such line of HEARTBEAT.md does), and the tool's result is the
    answer, verbatim. The turn's tool policy still applies: only offered tools can be called.
    """

    name = "offline/echo"

    def __init__(self, *, tool_syntax: bool = False) -> None:
        self._tool_syntax = tool_syntax

    async def converse(
        self, system: str, messages: Sequence[Message], tools: Sequence[ToolSpec]
    ) -> ModelReply:
        """Echo the last user message (a heartbeat poll gets `HEARTBEAT_OK`; with `tool_syntax`,
        `/<tool> {json}` calls the tool)."""
        if messages and messages[-1].role == "user":
            results = [b for b in messages[-1].blocks if isinstance(b, ToolResult)]
            if results:
                return ModelReply(assistant(results[-1].text), model=self.name)
        said = _user_texts(messages)
        last = said[-1] if said else ""
        command = None
        if self._tool_syntax:
            poll = last.strip().startswith(HEARTBEAT_PROMPT)
            command = heartbeat_command(system) if poll else tool_command(last)
        if command and command[0] in {t.name for t in tools}:
            call = ToolCall(id="offline-1", name=command[0], input=command[1])
            return ModelReply(Message("assistant", (call,)), stop_reason="tool_use", model=self.name)
        return ModelReply(assistant(echo_reply(NATIVE, said, _sent(messages))), model=self.name)


@dataclass(frozen=True)
class Call:
    """What a scripted model was sent on one call."""

    system: str
    messages: tuple[Message, ...]
    tools: tuple[str, ...]


class ScriptedModel:
    """Replies from a script, in order: a `Message` is answered, a `ClawbusError` is raised."""

    def __init__(self, script: Sequence[Message | ClawbusError], name: str = "scripted/test") -> None:
        self._script = list(script)
        self._name = name
        self.calls: list[Call] = []

    @property
    def name(self) -> str:
        """As given."""
        return self._name

    async def converse(
        self, system: str, messages: Sequence[Message], tools: Sequence[ToolSpec]
    ) -> ModelReply:
        """The next scripted step; `PermanentError` once the script has run out."""
        self.calls.append(Call(system, tuple(messages), tuple(t.name for t in tools)))
        if not self._script:
            raise PermanentError(f"model {self._name}: the script has no more replies")
        step = self._script.pop(0)
        if isinstance(step, ClawbusError):
            raise step
        return ModelReply(step, stop_reason="tool_use" if step.tool_calls else "end_turn", model=self._name)
