"""The agent loop: call the model, run the tools it asks for, feed the results back, until it answers.

One turn is at most `max_steps` model calls. Each step's tool calls run in order (a later call may
depend on an earlier one's effect, e.g. write then read), each under its tool's timeout; a failing tool
is reported to the model as an error result and the turn goes on. When the cap is hit the turn ends
with what the model said last and a note that it was stopped, rather than looping on.

With a `journal` (`agent/journal.py`), each model reply and tool result is journaled as it completes,
and a re-run of the same turn replays them instead of calling the model and the tools again.

Each model call and each tool call is a boundary where a `/stop` takes effect (`turn_control.py`): the
loop checks the current turn's stop signal before it, and a model call is cut short by it.

They are also where a message steered into the running turn is taken (`turn_control.take_steers`,
as OpenClaw's runtime does): a tool call that has started finishes; the step's calls that have not
started get a synthetic result (`SKIPPED`), and the steered message follows the tool results, before
the next model call. When the model has answered and a steered message waits, that answer is kept
(`LoopResult.earlier`: it is delivered, then the next) and the message starts one more step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clawbus.agent.journal import StepJournal
from clawbus.agent.models.base import Message, Model, ModelReply, Text, ToolCall, ToolResult, assistant
from clawbus.agent.tools.base import ToolBox
from clawbus.agent.turn_control import check_stop, steer_waiting, take_steers, unless_stopped
from clawbus.schemas import InboundEvent

SKIPPED = "Skipped to process an incoming message."  # OpenClaw's synthetic result for an unstarted call


@dataclass(frozen=True)
class LoopResult:
    """The messages the turn added (assistant replies and tool results), the final text, who answered."""

    messages: tuple[Message, ...]
    text: str
    model: str
    steps: int
    stopped_at_cap: bool = False
    input_tokens: int = 0
    output_tokens: int = 0
    earlier: tuple[str, ...] = ()  # answers given before a steered message asked for more, in order


def steered_blocks(events: tuple[InboundEvent, ...]) -> tuple[Text, ...]:
    """What the model sees of messages steered into the turn: their texts, in order."""
    return tuple(Text(e.text) for e in events if e.text)


async def run_loop(
    model: Model,
    system: str,
    history: Sequence[Message],
    tools: ToolBox,
    max_steps: int,
    journal: StepJournal | None = None,
) -> LoopResult:
    """Run one turn from `history` (ending with the user's message). Raises the model's errors."""
    added: list[Message] = []

    async def converse() -> ModelReply:
        return await model.converse(system, [*history, *added], tools.specs)

    async def call_tool(call: ToolCall) -> ToolResult:
        check_stop()
        if journal is None:
            return await tools.call(call)
        return await journal.tool(call, lambda: tools.call(call))

    answered_by = model.name
    used = [0, 0]
    earlier: list[str] = []
    for step in range(1, max_steps + 1):
        reply = await unless_stopped(converse() if journal is None else journal.model(converse))
        answered_by = reply.model or answered_by
        used[0] += reply.usage.input_tokens
        used[1] += reply.usage.output_tokens
        added.append(reply.message)
        calls = reply.message.tool_calls
        if not calls:
            steered = take_steers(last=True)
            if not steered:
                text = reply.message.text
                return LoopResult(
                    tuple(added), text, answered_by, step, False, used[0], used[1], tuple(earlier)
                )
            earlier.append(reply.message.text)
            added.append(Message("user", steered_blocks(steered)))
            continue
        results: list[ToolResult] = [
            ToolResult(call.id, SKIPPED, is_error=True) if steer_waiting() else await call_tool(call)
            for call in calls
        ]
        added.append(Message("user", (*results, *steered_blocks(take_steers()))))
    last_text = next((m.text for m in reversed(added) if m.role == "assistant" and m.text), "")
    note = f"(stopped after {max_steps} tool steps without a final answer)"
    text = f"{last_text}\n\n{note}" if last_text else note
    added.append(assistant(text))  # close the turn on an assistant message, as providers expect
    return LoopResult(tuple(added), text, answered_by, max_steps, True, used[0], used[1], tuple(earlier))
