"""A session's `/queue` override costs no request of its own, and every dispatcher sees it (issue 21).

The planner reads a run's recorded intents and its session's override together, in one `BatchGetItem`
(`storage/reads_dynamodb.py`), fresh for every run: a `/queue` stored through one dispatcher applies to
the next run planned by it or by another (two `TurnHandler`s, each with its own clients and shared
reads, over one loopback ledger and session index). A turn an earlier run started is still planned as it
was recorded after the mode changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from clawbus.bus.sqs_record import SqsRecord
from clawbus.schemas import AgentResponse, InboundEvent, Peer, PeerKind, ReplyTarget, parse_outbound
from clawbus.schemas.control import CONTROL_SUFFIX, QUEUE

SESSION = "agent:main:main"
SETTINGS = {"typing_after_ms": 60_000, "queue": {"mode": "followup", "debounce_ms": 0}}


def event(key: str, text: str, control: str | None = None) -> InboundEvent:
    return InboundEvent(
        event_id=f"telegram:update:{key}",
        channel="telegram",
        session_key=SESSION,
        peer=Peer(kind=PeerKind.DIRECT, id="42"),
        text=text,
        reply_to=ReplyTarget(chat_id="42"),
        received_at=datetime(2026, 12, 5, tzinfo=UTC),
        control=control,
    )


def message(key: str, text: str, receive_count: int = 1) -> SqsRecord:
    sent = event(key, text)
    return SqsRecord(key, "r", sent.to_wire(), SESSION, "d", receive_count, datetime.now(UTC))


def queue_command(key: str, text: str) -> SqsRecord:
    """The control copy of `text` (`/queue …`), on the session's control lane."""
    copy = event(key, text, control=QUEUE)
    return SqsRecord(key, "r", copy.to_wire(), SESSION + CONTROL_SUFFIX, "d", 1, datetime.now(UTC))


async def plan_ids(h: Any, run: list[SqsRecord]) -> list[list[str]]:
    plan = await h.handler.plan(run)
    return [[m.message_id for m in unit] for unit in plan.units]


async def set_queue(h: Any, key: str, text: str) -> None:
    (unit,) = (await h.handler.plan([queue_command(key, text)])).units
    await h.handler(unit)


def reads_since(h: Any, before: dict[str, int]) -> dict[str, int]:
    """The DynamoDB requests `h`'s dispatcher made since `before`, by operation."""
    return {
        k.removeprefix("dynamodb."): v - before.get(k, 0)
        for k, v in h.requests.items()
        if k.startswith("dynamodb.") and v != before.get(k, 0)
    }


class Agent:
    """Answers each turn with what it was asked; `hold` keeps the next invocation until released."""

    def __init__(self) -> None:
        self.invoked = asyncio.Event()
        self.hold = False
        self.release = asyncio.Event()
        self.turns = 0

    async def answer(self, request: Request) -> Response:
        body = json.loads(await request.body())
        self.turns += 1
        self.invoked.set()
        if self.hold:
            await self.release.wait()  # the dispatcher dies before it hears back
        texts = "+".join(e["text"] for e in body["events"])
        return Response(AgentResponse(parts=(texts,)).to_wire(), media_type="application/json")


def answered(h: Any) -> list[str]:
    """The answers' texts, once per reply id (SNS FIFO and egress drop a republished copy)."""
    replies: dict[str, str] = {}
    for dedup_id, body, _ in h.topic.published:
        reply = parse_outbound(body)
        if reply.kind.value == "message" and not reply.text.startswith("Queue"):
            replies.setdefault(dedup_id, reply.text)
    return list(replies.values())


@contextlib.asynccontextmanager
async def two_dispatchers(harness_factory: Any, agent: Agent) -> AsyncIterator[tuple[Any, Any]]:
    """Two dispatchers, each with its own clients and shared reads, over one ledger and session index."""
    async with (
        harness_factory(agent.answer, SETTINGS) as one,
        harness_factory(agent.answer, SETTINGS) as other,
    ):
        yield one, other


async def test_a_queue_change_through_one_dispatcher_plans_the_next_run_on_it_and_on_another(
    harness_factory: Any,
) -> None:
    agent = Agent()
    async with two_dispatchers(harness_factory, agent) as (one, other):
        assert await plan_ids(other, [message("1", "a"), message("2", "b")]) == [["1"], ["2"]]

        await set_queue(one, "q1", "/queue collect")
        assert await plan_ids(one, [message("3", "c"), message("4", "d")]) == [["3", "4"]]
        before = dict(other.requests)
        assert await plan_ids(other, [message("5", "e"), message("6", "f")]) == [["5", "6"]]
        # the run's intents and its session's override: one request, no read of its own
        assert reads_since(other, before) == {"BatchGetItem": 1}

        await set_queue(other, "q2", "/queue followup")
        assert await plan_ids(one, [message("7", "g"), message("8", "h")]) == [["7"], ["8"]]
        assert await plan_ids(other, [message("9", "i"), message("10", "j")]) == [["9"], ["10"]]


async def test_a_run_started_before_a_queue_change_comes_back_planned_as_it_was(
    harness_factory: Any,
) -> None:
    agent = Agent()
    async with two_dispatchers(harness_factory, agent) as (one, other):
        await set_queue(one, "q1", "/queue collect")
        (unit,) = (await one.handler.plan([message("1", "book a table"), message("2", "for two")])).units
        agent.hold = True
        dying = asyncio.create_task(one.handler(unit))
        await agent.invoked.wait()  # the turn's intent is recorded; the dispatcher dies now
        dying.cancel()
        await asyncio.gather(dying, return_exceptions=True)
        agent.hold = False
        agent.release.set()

        await set_queue(other, "q2", "/queue followup")
        again = [message("1", "book a table", 2), message("2", "for two", 2), message("3", "at eight")]
        plan = await other.handler.plan(again)
        assert [[m.message_id for m in u] for u in plan.units] == [["1", "2"], ["3"]]
        for unit in plan.units:
            await other.handler(unit)
    assert answered(other) == ["book a table+for two", "at eight"]


async def test_a_runs_first_turn_uses_the_planners_ledger_read_and_a_redelivery_is_answered_once(
    harness_factory: Any,
) -> None:
    agent = Agent()
    async with harness_factory(agent.answer, SETTINGS) as h:
        before = dict(h.requests)
        for unit in (await h.handler.plan([message("1", "hello")])).units:
            await h.handler(unit)
        # the plan's read (the turn's state) serves the turn: one read, then the record (an insert)
        assert reads_since(h, before) == {"BatchGetItem": 1, "BatchExecuteStatement": 1}

        before = dict(h.requests)
        for unit in (await h.handler.plan([message("2", "a"), message("3", "b")])).units:
            await h.handler(unit)
        # the second turn reads when it starts (the first has written since the plan)
        assert reads_since(h, before) == {"BatchGetItem": 2, "BatchExecuteStatement": 2}

        before = dict(h.requests)
        for unit in (await h.handler.plan([message("1", "hello", 2), message("2", "a", 2)])).units:
            await h.handler(unit)
        assert reads_since(h, before) == {"BatchGetItem": 2}  # no turn ran again: nothing recorded
    assert agent.turns == 3
    assert answered(h) == ["hello", "a", "b"]
