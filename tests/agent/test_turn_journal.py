"""A turn interrupted after its tool ran and before its transcript append is run again under the same
reply id: its tool's side effect happens once, and the answer is delivered (issue 22).

The agent app over ASGI with the offline echo model driving a tool (`/append_line {json}`), a tool
whose effect anyone can see (a line appended to a workspace file), and a local step journal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from clawbus.agent.models.base import Message, ModelReply, ToolResult, ToolSpec
from clawbus.agent.models.offline import OfflineEcho
from clawbus.agent.tools import Tool
from clawbus.bus.errors import Throttled, Unavailable
from clawbus.schemas import AgentRequest, AgentResponse, TurnStatus
from clawbus.storage import (
    Batch,
    LocalTranscriptStore,
    LocalTurnJournal,
    LocalWorkspaceStore,
    SessionRef,
    WorkspaceStore,
)

COMMAND = '/append_line {"path": "orders.md", "line": "2 x pizza"}'


def append_line(store: WorkspaceStore) -> Tool:
    """A tool that is not idempotent: each call appends one more line."""

    async def run(args: Mapping[str, Any]) -> str:
        found = await store.read(str(args["path"]))
        text = (found.text if found else "") + f"{args['line']}\n"
        await store.write(str(args["path"]), text)
        return f"ordered: {args['line']}"

    schema = {"type": "object", "properties": {"path": {"type": "string"}, "line": {"type": "string"}}}
    return Tool(ToolSpec("append_line", "append a line to a file", schema), run)


class ThrottledOnceAfterATool(OfflineEcho):
    """The echo model, throttled the first time it is called with a tool's result (Bedrock's 429
    mid-turn: the tool ran, the turn fails and is retried)."""

    def __init__(self) -> None:
        super().__init__(tool_syntax=True)
        self.calls = 0
        self._throttled = False

    async def converse(
        self, system: str, messages: Sequence[Message], tools: Sequence[ToolSpec]
    ) -> ModelReply:
        self.calls += 1
        after_tool = messages and any(isinstance(b, ToolResult) for b in messages[-1].blocks)
        if after_tool and not self._throttled:
            self._throttled = True
            raise Throttled("bedrock: ThrottlingException (429)")
        return await super().converse(system, messages, tools)


class TranscriptLostOnce(LocalTranscriptStore):
    """Local transcripts whose first append fails (the container died before the transcript write)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self._failed = False

    async def append(self, session: SessionRef, batch: Batch) -> None:
        if not self._failed:
            self._failed = True
            raise Unavailable("transcript store unreachable")
        await super().append(session, batch)


async def orders(agent: Any) -> str:
    found = await agent.store.read("orders.md")
    return found.text if found else ""


async def test_a_turn_throttled_after_its_tool_ran_runs_the_tool_once_when_retried(
    make_agent: Any, tmp_path: Path
) -> None:
    model = ThrottledOnceAfterATool()
    workspace = LocalWorkspaceStore(tmp_path / "workspace")  # the fixture's workspace
    agent = make_agent(model, [append_line(workspace)], journal=LocalTurnJournal(tmp_path / "journal"))
    failed = await agent.turn(COMMAND, turn="order-1")
    assert failed.status is TurnStatus.ERROR  # the dispatcher retries the same turn
    answered = await agent.turn(COMMAND, turn="order-1")
    assert answered.status is TurnStatus.OK
    assert answered.parts == ("ordered: 2 x pizza",)
    assert await orders(agent) == "2 x pizza\n"  # ordered once
    # call, throttled; then the re-run: its first reply asks for the tool again, so the journal is read and
    # the recorded call is followed instead (the tool does not run again), then the answer. A turn reads
    # its journal only once the model asks for a tool: most turns never pay for it.
    assert model.calls == 4


async def test_a_turn_whose_transcript_write_failed_is_not_run_again_by_its_retry(
    make_agent: Any, tmp_path: Path
) -> None:
    workspace = LocalWorkspaceStore(tmp_path / "workspace")
    agent = make_agent(
        OfflineEcho(tool_syntax=True),
        [append_line(workspace)],
        journal=LocalTurnJournal(tmp_path / "journal"),
    )
    agent.runtime.transcripts = TranscriptLostOnce(tmp_path / "sessions")
    failed = await agent.turn(COMMAND, turn="order-2")
    assert failed.status is TurnStatus.ERROR
    answered = await agent.turn(COMMAND, turn="order-2")
    assert answered.parts == ("ordered: 2 x pizza",)
    assert await orders(agent) == "2 x pizza\n"
    # The journal is gone once the transcript holds the turn; the turn answers from there from now on.
    assert await LocalTurnJournal(tmp_path / "journal").read("main", "rp-order-2") == []
    again = await agent.turn(COMMAND, turn="order-2")
    assert again.parts == ("ordered: 2 x pizza",)
    assert await orders(agent) == "2 x pizza\n"


class WholeTurnEngine:
    """An engine that runs whole turns itself (as OpenClaw does), each with a visible side effect."""

    model = "openclaw/test"
    warming = False
    steerable = False

    def __init__(self, store: WorkspaceStore, steered: tuple[str, ...] = ()) -> None:
        self._store = store
        self._steered = steered  # what its answer says was steered into the turn

    async def run(self, request: AgentRequest) -> AgentResponse:
        found = await self._store.read("orders.md")
        await self._store.write("orders.md", (found.text if found else "") + "2 x pizza\n")
        return AgentResponse(parts=("ordered: 2 x pizza",), model=self.model, steered=self._steered)


async def test_a_turn_a_whole_turn_engine_finished_is_answered_from_its_record_when_run_again(
    make_agent: Any, tmp_path: Path
) -> None:
    # The dispatcher died after the invoke and before its ledger write: the same turn comes again.
    engine = WholeTurnEngine(LocalWorkspaceStore(tmp_path / "workspace"))
    agent = make_agent(OfflineEcho(), engine=engine, journal=LocalTurnJournal(tmp_path / "journal"))
    first = await agent.turn("two pizzas please", turn="order-3")
    again = await agent.turn("two pizzas please", turn="order-3")
    assert first.parts == again.parts == ("ordered: 2 x pizza",)
    assert await orders(agent) == "2 x pizza\n"
    other = await agent.turn("two pizzas please", turn="order-4")  # a new turn runs
    assert other.parts == ("ordered: 2 x pizza",)
    assert await orders(agent) == "2 x pizza\n2 x pizza\n"


async def test_a_re_run_of_a_whole_turn_still_names_the_messages_steered_into_the_first_run(
    make_agent: Any, tmp_path: Path
) -> None:
    # The dispatcher records the turn under the steered message only from the answer: a re-run that
    # forgot it would leave that message to be answered a second time by its own turn.
    engine = WholeTurnEngine(LocalWorkspaceStore(tmp_path / "workspace"), steered=("webchat:later",))
    agent = make_agent(OfflineEcho(), engine=engine, journal=LocalTurnJournal(tmp_path / "journal"))
    first = await agent.turn("two pizzas please", turn="order-5")
    again = await agent.turn("two pizzas please", turn="order-5")
    assert first.steered == again.steered == ("webchat:later",)
    assert await orders(agent) == "2 x pizza\n"
