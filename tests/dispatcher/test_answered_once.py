"""An event whose turn is done is not run again, however its message comes back: a schedule's fire sent a
second time, or a dead letter moved back by SQS itself, each received only once (issue 22). The turn
handler runs against the loopback API's turn ledger and a fake AgentCore endpoint that counts turns."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from clawbus.bus.sqs_record import SqsRecord
from clawbus.schemas import (
    AgentResponse,
    InboundEvent,
    Peer,
    PeerKind,
    ReplyTarget,
    attributes,
    parse_outbound,
)
from clawbus.schemas.cron import AgentTurnPayload, CronJob, CronSchedule, JobDelivery
from clawbus.storage.cron.jobs import SCHEDULED_TIME, job_input


class CountingAgent:
    """A fake AgentCore data plane that answers each turn with its reply id and counts the turns it ran."""

    def __init__(self) -> None:
        self.turns = 0

    async def answer(self, request: Request) -> Response:
        body = json.loads(await request.body())
        self.turns += 1
        return Response(
            AgentResponse(parts=(f"answer {body['reply_id']}",)).to_wire(), media_type="application/json"
        )


def message(body: str, message_id: str, **attrs: str) -> SqsRecord:
    """A first delivery (receive count 1) of `body` on the inbound queue."""
    event = InboundEvent.model_validate_json(body)
    return SqsRecord(
        message_id, "receipt", body, event.session_key, "d", 1, datetime.now(UTC), attributes=attrs
    )


def delivered(h: Any) -> list[str]:
    """The texts of the message replies published so far (SNS FIFO and egress drop repeated reply ids)."""
    replies = {}
    for dedup_id, body, _ in h.topic.published:
        reply = parse_outbound(body)
        if reply.kind.value == "message":
            replies.setdefault(dedup_id, reply.text)
    return list(replies.values())


async def test_a_schedule_fired_twice_runs_its_turn_once_though_each_copy_is_a_first_delivery(
    harness_factory: Any,
) -> None:
    # The firer takes over a dead firer's claim after its lease and sends the fire again; the first copy
    # was consumed meanwhile, so the queue's dedup no longer holds it and the copy arrives with receive
    # count 1. The firer's docstring says the turn ledger drops it: it did only for receive counts > 1.
    job = CronJob(
        id="standup",
        name="standup",
        schedule=CronSchedule(expr="0 9 * * *"),
        payload=AgentTurnPayload(message="post the standup"),
        delivery=JobDelivery(channel="telegram", to="42"),
    )
    fire = job_input(job).replace(SCHEDULED_TIME, "2026-12-04T09:00:00Z")
    agent = CountingAgent()
    async with harness_factory(agent.answer, {"typing_after_ms": 60_000}) as h:
        await h.handler([message(fire, "m-1")])
        await h.handler([message(fire, "m-2")])  # the same fire, sent again
        assert agent.turns == 1
        assert len(delivered(h)) == 1  # one announcement in the chat


async def test_a_dead_letter_moved_back_by_sqs_itself_is_not_answered_twice(harness_factory: Any) -> None:
    # A turn that was answered and recorded, whose message then reached the DLQ (its consumer died
    # before the delete, receive after receive), is moved back by `StartMessageMoveTask`
    # (`clawbus dlq replay --server-side`): a new message, receive count 1, its dead-letter attributes
    # kept and no `clawbus.replay` mark.
    event = InboundEvent(
        event_id="telegram:update:7",
        channel="telegram",
        session_key="agent:main:main",
        peer=Peer(kind=PeerKind.DIRECT, id="42"),
        text="what is on today?",
        reply_to=ReplyTarget(chat_id="42"),
    )
    agent = CountingAgent()
    async with harness_factory(agent.answer, {"typing_after_ms": 60_000}) as h:
        await h.handler([message(event.to_wire(), "m-1")])
        moved_back = message(
            event.to_wire(),
            "m-9",
            **{attributes.ERROR_TYPE: "DeadlineExceeded", attributes.SOURCE_QUEUE: "inbound.fifo"},
        )
        await h.handler([moved_back])
        assert agent.turns == 1
        assert len(delivered(h)) == 1


async def test_a_platform_retry_after_the_queues_dedup_window_is_answered_from_the_ledger_once(
    harness_factory: Any,
) -> None:
    # Ingress no longer claims an ordinary message before enqueueing it (ingress/intake.py): SQS drops a
    # retry within 5 minutes, and one that comes later — Slack's hours later, WhatsApp's days later —
    # reaches the dispatcher as a new message with receive count 1. Its turn ledger is the dedup record.
    event = InboundEvent(
        event_id="slack:T0TEAM:D0DM:1733390000.000100",
        channel="slack",
        session_key="agent:main:main",
        peer=Peer(kind=PeerKind.DIRECT, id="U0ALICE"),
        text="book the room",
        reply_to=ReplyTarget(chat_id="D0DM"),
    )
    now = [datetime(2026, 12, 5, 9, 0, tzinfo=UTC)]
    agent = CountingAgent()
    async with harness_factory(agent.answer, {"typing_after_ms": 60_000}, lambda: now[0]) as h:
        await h.handler([message(event.to_wire(), "m-1")])
        now[0] += timedelta(hours=6)  # Slack's last retry, long after SQS's 5-minute window
        await h.handler([message(event.to_wire(), "m-2")])
        now[0] += timedelta(days=7)  # WhatsApp retries for up to 7 days; the ledger keeps turns 8
        await h.handler([message(event.to_wire(), "m-3")])
        assert agent.turns == 1
        assert len(delivered(h)) == 1
        # each copy republished the stored answer under its one id: SNS FIFO and egress drop the copies
        assert len({dedup_id for dedup_id, _, _ in h.topic.published}) == 1


async def test_a_retry_received_in_the_same_run_as_its_first_copy_makes_one_turn(
    harness_factory: Any,
) -> None:
    # Both copies queued behind a busy session, received together and merged (`collect`): one turn.
    event = InboundEvent(
        event_id="telegram:update:8",
        channel="telegram",
        session_key="agent:main:main",
        peer=Peer(kind=PeerKind.DIRECT, id="42"),
        text="and tomorrow?",
        reply_to=ReplyTarget(chat_id="42"),
    )
    agent = CountingAgent()
    async with harness_factory(agent.answer, {"typing_after_ms": 60_000}) as h:
        await h.handler([message(event.to_wire(), "m-1"), message(event.to_wire(), "m-2")])
        assert agent.turns == 1
        assert len(delivered(h)) == 1
