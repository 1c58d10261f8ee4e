"""Replay a turn's steps instead of running them again: the loop's side of `storage/turn_journal.py`.

A turn is run again under the same id when it was interrupted before its transcript append (the
dispatcher's redelivery after a crash, or after a model error that came once a tool had run). Its
earlier run journaled each step as it completed: the model's reply, then each tool call's result. The
re-run takes those in order instead of calling the model or the tool (no second cron job, no second
line in a file), and once the journal is exhausted it goes on live, journaling what follows. A step
that does not fit (a tool result for another call id: the turn is not the same one) ends the replay
there: the rest runs live, unjournaled, and `agent.journal.diverged` says so.

Writes are conditional: a step another run of the same turn journaled first stands, and this run goes
on with that one (the model and the tools it already ran see the same history either way).

An engine that runs a whole turn itself (OpenClaw) gives no step to journal: its tools run inside the
gateway, and OpenClaw's `before_tool_call` hook can rewrite, block or hold a call for approval but not
answer it with a recorded result. For such an engine `answered_once` keeps the finished turn's answer
under the turn's id instead, so a re-run of a turn that finished (the dispatcher died before its ledger
write) answers from there without running the turn (and its tools) again; a turn interrupted before
it finished runs again whole (docs/reliability.md).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from clawbus.agent.models.base import Block, Message, ModelReply, Text, ToolCall, ToolResult, Usage
from clawbus.bus.errors import VersionConflict
from clawbus.bus.logging import log_event, session_ref
from clawbus.schemas import AgentRequest, AgentResponse, parse_agent_response
from clawbus.storage.turn_journal import Step, TurnJournalStore

logger = logging.getLogger(__name__)


def encode_reply(reply: ModelReply) -> Step:
    """A model reply as a journal step."""
    blocks: list[dict[str, Any]] = []
    for block in reply.message.blocks:
        if isinstance(block, Text):
            blocks.append({"type": "text", "text": block.text})
        elif isinstance(block, ToolCall):
            blocks.append({"type": "toolCall", "id": block.id, "name": block.name, "input": block.input})
    return {
        "kind": "model",
        "role": reply.message.role,
        "blocks": blocks,
        "stopReason": reply.stop_reason,
        "model": reply.model,
        "usage": [reply.usage.input_tokens, reply.usage.output_tokens],
    }


def decode_reply(step: Step) -> ModelReply:
    """The model reply a journal step holds."""
    blocks: list[Block] = []
    for block in step.get("blocks", []):
        if block.get("type") == "text":
            blocks.append(Text(str(block.get("text", ""))))
        elif block.get("type") == "toolCall":
            blocks.append(ToolCall(str(block["id"]), str(block["name"]), dict(block.get("input") or {})))
    used = step.get("usage") or [0, 0]
    return ModelReply(
        Message("user" if step.get("role") == "user" else "assistant", tuple(blocks)),
        stop_reason=str(step.get("stopReason", "end_turn")),
        usage=Usage(int(used[0]), int(used[1])),
        model=str(step.get("model", "")),
    )


def encode_result(result: ToolResult) -> Step:
    """A tool call's result as a journal step."""
    return {"kind": "tool", "callId": result.tool_use_id, "text": result.text, "isError": result.is_error}


class StepJournal:
    """One run of one turn over its journal: replays the recorded steps in order, then journals live ones.

    `replayed` counts the steps taken from the journal (the model calls and tool runs saved).
    """

    def __init__(
        self, store: TurnJournalStore, agent_id: str, turn_id: str, steps: Sequence[Step] | None
    ) -> None:
        self._store = store
        self._agent_id = agent_id
        self._turn_id = turn_id
        self._recorded = None if steps is None else list(steps)  # None: not read yet
        self._wrote = False
        self._next = 0
        self._diverged = False
        self.replayed = 0

    @classmethod
    async def load(cls, store: TurnJournalStore, agent_id: str, turn_id: str) -> StepJournal:
        """The turn's journal as an earlier run left it (empty for a first run)."""
        return cls(store, agent_id, turn_id, await store.read(agent_id, turn_id))

    @classmethod
    def lazy(cls, store: TurnJournalStore, agent_id: str, turn_id: str) -> StepJournal:
        """The turn's journal, read only when the model first asks for a tool: a turn that runs no tool
        (most of them) costs no journal request at all, and has nothing whose repeat would matter."""
        return cls(store, agent_id, turn_id, None)

    async def model(self, live: Callable[[], Awaitable[ModelReply]]) -> ModelReply:
        """The model's reply at this step: recorded, or `live()`'s (journaled when it asks for tools).

        A reply without tool calls is not journaled: nothing ran because of it, and a re-run may ask the
        model again. When a live reply asks for tools and the journal was not read yet, it is read now;
        if an earlier run got this far, its steps are followed instead of this reply.
        """
        step = self._take("model", None)
        if step is not None:
            return decode_reply(step)
        reply = await live()
        if not reply.message.tool_calls:
            return reply
        if self._recorded is None:
            self._recorded = list(await self._store.read(self._agent_id, self._turn_id))
            step = self._take("model", None)
            if step is not None:
                return decode_reply(step)
        return decode_reply(await self._write(encode_reply(reply)))

    async def tool(self, call: ToolCall, live: Callable[[], Awaitable[ToolResult]]) -> ToolResult:
        """The tool call's result: recorded (the tool does not run), or `live()`'s, journaled."""
        step = self._take("tool", call.id)
        if step is None:
            step = await self._write(encode_result(await live()))
        return ToolResult(
            str(step.get("callId", call.id)), str(step.get("text", "")), bool(step.get("isError"))
        )

    def _take(self, kind: str, call_id: str | None) -> Step | None:
        if self._recorded is None or self._diverged or self._next >= len(self._recorded):
            return None
        step = self._recorded[self._next]
        if step.get("kind") != kind or (call_id is not None and step.get("callId") != call_id):
            self._diverged = True
            log_event(
                logger, "agent.journal.diverged", logging.WARNING, reply_id=self._turn_id, step=self._next
            )
            return None
        self._next += 1
        self.replayed += 1
        return step

    async def _write(self, step: Step) -> Step:
        """Journal `step` at the next index; the step that stands there (another run's, if first)."""
        if self._diverged:
            return step
        if self._recorded is None:  # a tool step always follows a model step that read it
            self._recorded = list(await self._store.read(self._agent_id, self._turn_id))
        index = self._next
        self._next += 1
        self._wrote = True
        try:
            await self._store.append(self._agent_id, self._turn_id, index, step)
        except VersionConflict:
            recorded = await self._store.read(self._agent_id, self._turn_id)
            if index < len(recorded) and recorded[index].get("kind") == step.get("kind"):
                return recorded[index]
            self._diverged = True
        return step

    async def discard(self) -> None:
        """Forget the journal: the turn is in the transcript now (no request when there was none)."""
        if self._wrote or self._recorded:
            await self._store.discard(self._agent_id, self._turn_id)


async def answered_once(
    store: TurnJournalStore | None,
    request: AgentRequest,
    run: Callable[[AgentRequest], Awaitable[AgentResponse]],
) -> AgentResponse:
    """A whole-turn engine's answer to `request`: recorded by an earlier run of the same turn, else
    `run`'s, recorded (see module). Only a finished turn is recorded: `run`'s errors propagate."""
    if store is None:
        return await run(request)
    agent_id = request.events[0].agent_id
    recorded = await _recorded_answer(store, agent_id, request.reply_id)
    if recorded is not None:
        log_event(
            logger,
            "agent.turn.replayed",
            reply_id=request.reply_id,
            session=session_ref(request.session_key),
        )
        return recorded
    response = await run(request)
    step = {"kind": "answer", "response": response.model_dump(mode="json")}
    try:
        await store.append(agent_id, request.reply_id, 0, step)
    except VersionConflict:  # another run of the same turn finished first: its answer stands
        return await _recorded_answer(store, agent_id, request.reply_id) or response
    return response


async def _recorded_answer(store: TurnJournalStore, agent_id: str, turn_id: str) -> AgentResponse | None:
    steps = await store.read(agent_id, turn_id)
    if steps and steps[0].get("kind") == "answer":
        return parse_agent_response(json.dumps(steps[0]["response"]))
    return None
