"""A collected turn whose dispatcher died after the agent ran it is the same turn when its messages come
back with a newer one (issue 22): the user gets one answer to what they said before the crash and one
to what they said after, and the agent never answers the same text twice under a new reply id.

The turn handler runs against the loopback API's turn ledger; behind the fake AgentCore endpoint runs
the real agent app (offline echo model, local transcripts), whose echo says how many user turns it saw.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response

from clawbus.agent import AgentRuntime, create_app
from clawbus.agent.models.offline import OfflineEcho
from clawbus.agent.tools import ToolBox
from clawbus.bus.errors import Unavailable
from clawbus.bus.settings import QueueSettings
from clawbus.bus.sqs_record import SqsRecord
from clawbus.bus.topology import ledger_table_name
from clawbus.dispatcher.ledger import LedgerState
from clawbus.dispatcher.run_planner import DecodedEvents, RunPlanner
from clawbus.dispatcher.session_activity import SessionActivity
from clawbus.schemas import EventKind, InboundEvent, Peer, PeerKind, ReplyTarget, parse_outbound
from clawbus.storage import LocalSessionIndex, LocalTranscriptStore, LocalWorkspaceStore
from tests.conftest import Bus

SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"


class AgentBehindAgentCore:
    """The agent app as AgentCore's data plane; the first invocation 'kills the dispatcher': the agent
    runs the turn to the end, then the response never comes back until the test lets it go."""

    def __init__(self, root: Path) -> None:
        runtime = AgentRuntime(
            model=OfflineEcho(),
            store=LocalWorkspaceStore(root / "workspace"),
            transcripts=LocalTranscriptStore(root / "sessions"),
            sessions=LocalSessionIndex(root / "sessions"),
            tools=ToolBox([]),
        )
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(runtime)), base_url="http://agent"
        )
        self.reply_ids: list[str] = []
        self.ran = asyncio.Event()
        self.release = asyncio.Event()

    async def answer(self, request: Request) -> Response:
        body = await request.body()
        self.reply_ids.append(json.loads(body)["reply_id"])
        answered = await self._client.post(
            "/invocations", content=body, headers={SESSION_HEADER: request.headers[SESSION_HEADER]}
        )
        if len(self.reply_ids) == 1:  # the agent finished; the dispatcher dies before it hears so
            self.ran.set()
            await self.release.wait()
        return Response(answered.content, answered.status_code, media_type="application/json")


def message(key: str, text: str, receive_count: int) -> SqsRecord:
    event = InboundEvent(
        event_id=f"telegram:update:{key}",
        channel="telegram",
        session_key="agent:main:main",
        peer=Peer(kind=PeerKind.DIRECT, id="42"),
        text=text,
        reply_to=ReplyTarget(chat_id="42"),
        received_at=datetime(2026, 12, 4, tzinfo=UTC),
    )
    return SqsRecord(key, "r", event.to_wire(), event.session_key, "d", receive_count, datetime.now(UTC))


async def crash_after_the_agent_ran(h: Any, agent: AgentBehindAgentCore, unit: list[SqsRecord]) -> None:
    """Run `unit`'s turn and kill it after the agent answered, before the turn ledger's write."""
    crashed = asyncio.create_task(h.handler(unit))
    await agent.ran.wait()
    crashed.cancel()  # the dispatcher dies after the invoke, before the turn ledger's write
    agent.release.set()
    await asyncio.gather(crashed, return_exceptions=True)


def delivered(h: Any) -> list[str]:
    """The texts of the replies published, once per reply id (SNS FIFO and egress drop repeats)."""
    replies: dict[str, str] = {}
    for dedup_id, body, _ in h.topic.published:
        reply = parse_outbound(body)
        if reply.kind.value == "message":
            replies.setdefault(dedup_id, reply.text)
    return list(replies.values())


async def test_a_collected_turn_cut_short_by_a_crash_is_answered_once_when_it_comes_back_with_more(
    harness_factory: Any, tmp_path: Path
) -> None:
    agent = AgentBehindAgentCore(tmp_path)
    settings = {"typing_after_ms": 60_000, "queue": {"mode": "collect", "debounce_ms": 0}}
    async with harness_factory(agent.answer, settings) as h:
        first = [message("1", "book a table", 1), message("2", "for two", 1)]
        plan = await h.handler.plan(first)
        assert [len(unit) for unit in plan.units] == [2]
        await crash_after_the_agent_ran(h, agent, plan.units[0])
        assert delivered(h) == []

        # The messages come back (not deleted), with one the user sent meanwhile.
        again = [message("1", "book a table", 2), message("2", "for two", 2), message("3", "at eight", 1)]
        for unit in (await h.handler.plan(again)).units:
            await h.handler(unit)

    assert delivered(h) == [
        "(native · offline echo · turn 1) You said: book a table\nfor two",
        "(native · offline echo · turn 2) You said: at eight",
    ]
    assert agent.reply_ids[1] == agent.reply_ids[0]  # the re-run is the same turn to the agent


async def test_a_run_whose_recorded_turns_cannot_be_read_is_given_back_not_planned_blind() -> None:
    # Planned without its intents, a turn cut short by a crash could be merged with a newer message.
    async def unreachable(_event_ids: Sequence[str], _now: datetime) -> LedgerState:
        raise Unavailable("dynamodb: connection reset")

    decoded = DecodedEvents(claim_checks=None)  # type: ignore[arg-type]  # inline bodies only
    planner = RunPlanner(decoded, QueueSettings(debounce_ms=0), lambda: datetime.now(UTC), unreachable)
    run = [message("1", "book a table", 2), message("2", "for two", 2), message("3", "at eight", 1)]
    plan = await planner(run)
    assert plan.units == []
    assert [m.message_id for m in plan.deferred] == ["1", "2", "3"]
    assert plan.defer_s == 2


def intents_in_ledger(bus: Bus) -> list[str]:
    """The turn intents the ledger holds (`intent:<event_id>` items)."""
    items = bus.client("dynamodb").scan(TableName=ledger_table_name(bus.prefix))["Items"]
    return sorted(i["pk"]["S"] for i in items if i["pk"]["S"].startswith("intent:"))


async def test_a_one_message_turn_cut_short_by_a_crash_is_answered_once_even_after_a_switch_to_collect(
    harness_factory: Any, bus: Bus, tmp_path: Path
) -> None:
    # A `followup` turn of one message writes no intent (issue 21's cost work): its message, when it comes
    # back after the crash, is kept alone under the same reply id, even by a dispatcher that now merges
    # (`/queue collect`, or restarted with `collect`) and gets it with two newer messages.
    agent = AgentBehindAgentCore(tmp_path)
    before = {"typing_after_ms": 60_000, "queue": {"mode": "followup", "debounce_ms": 0}}
    async with harness_factory(agent.answer, before) as h:
        plan = await h.handler.plan([message("1", "book a table", 1)])
        await crash_after_the_agent_ran(h, agent, plan.units[0])
        assert delivered(h) == []
        assert intents_in_ledger(bus) == []  # the turn ran without one

    after = {"typing_after_ms": 60_000, "queue": {"mode": "collect", "debounce_ms": 0}}
    async with harness_factory(agent.answer, after) as h:
        again = [message("1", "book a table", 2), message("2", "for two", 1), message("3", "at eight", 1)]
        plan = await h.handler.plan(again)
        assert [[m.message_id for m in unit] for unit in plan.units] == [["1"], ["2", "3"]]
        for unit in plan.units:
            await h.handler(unit)

        assert delivered(h) == [
            "(native · offline echo · turn 1) You said: book a table",
            "(native · offline echo · turn 2) You said: for two\nat eight",
        ]
    assert agent.reply_ids[1] == agent.reply_ids[0]  # the re-run is the same turn to the agent
    assert intents_in_ledger(bus) == [  # under `collect` every turn writes its intent, a lone one too
        "intent:telegram:update:1",
        "intent:telegram:update:2",
        "intent:telegram:update:3",
    ]


def planner(mode: str, activity: SessionActivity | None = None) -> RunPlanner:
    async def no_intents(_event_ids: Sequence[str], _now: datetime) -> LedgerState:
        return LedgerState({}, {})

    decoded = DecodedEvents(claim_checks=None)  # type: ignore[arg-type]  # inline bodies only
    queue = QueueSettings.model_validate({"mode": mode, "debounce_ms": 1000})
    return RunPlanner(decoded, queue, lambda: datetime.now(UTC), no_intents, activity)


async def test_only_a_turn_no_later_plan_could_regroup_runs_without_an_intent() -> None:
    for mode, intent_free in (
        ("followup", {"1"}),
        ("steer", {"1"}),
        ("collect", set()),
        ("interrupt", set()),
    ):
        plans = planner(mode)
        await plans([message("1", "hello", 1)])
        assert plans.intent_free == intent_free, mode
    collect = planner("collect")
    heartbeat = InboundEvent(
        event_id="heartbeat:1",
        kind=EventKind.HEARTBEAT,
        channel="heartbeat",
        session_key="agent:main:main",
        text="check in",
        received_at=datetime(2026, 12, 4, tzinfo=UTC),
    )
    await collect([SqsRecord("h", "r", heartbeat.to_wire(), "g", "d", 1, datetime.now(UTC))])
    assert collect.intent_free == {"h"}  # never merged, dropped or deferred in any mode


async def test_a_run_this_planner_deferred_still_merges_but_one_that_came_back_otherwise_stays_apart() -> (
    None
):
    activity = SessionActivity()  # the session's last turn ended after the two lines were sent
    activity.ended("agent:main:main", int(datetime.now(UTC).timestamp() * 1000) + 60_000)
    plans = planner("collect", activity)
    first = await plans([message("1", "book a table", 1), message("2", "for two", 1)])
    assert first.units == []
    assert len(first.deferred) == 2
    merged = await plans([message("1", "book a table", 2), message("2", "for two", 2)])
    assert [[m.message_id for m in unit] for unit in merged.units] == [["1", "2"]]

    # Received before by a dispatcher that is gone (or that ran its turn without an intent): alone.
    elsewhere = await planner("collect")([message("1", "book a table", 2), message("2", "for two", 1)])
    assert [[m.message_id for m in unit] for unit in elsewhere.units] == [["1"], ["2"]]


async def test_a_run_no_later_line_could_join_waits_its_debounce_in_place_and_runs_its_turns() -> None:
    """Under `followup` and `steer` a run queued behind a turn is not given back to the queue for its
    debounce (a visibility change per message, a receive more, SQS's whole seconds): the planner waits the
    rest of it and returns the turns a give-back would have planned."""
    for mode in ("followup", "steer"):
        activity = SessionActivity()  # the two lines were sent while the session's last turn ran
        activity.ended("agent:main:main", int(datetime.now(UTC).timestamp() * 1000) + 60_000)
        started = time.monotonic()
        plan = await planner(mode, activity)([message("1", "book a table", 1), message("2", "for two", 1)])
        assert [[m.message_id for m in unit] for unit in plan.units] == [["1"], ["2"]], mode
        assert plan.deferred == [], mode
        assert time.monotonic() - started >= 0.9, mode  # the rest of its 1 s debounce, waited here
