"""The dispatcher's side of a turn given up (`dispatcher/failure_notice.py`), against the loopback AWS API:
the notice (the consumer's `on_dead_letter` hook) goes out once per failure, and under
`errorPolicy: once` once per conversation and reason (its cooldown record in the ledger table)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from clawbus.bus.clients import DispatcherClients, open_stage_clients
from clawbus.bus.errors import ClawbusError, DeadlineExceeded, Unavailable
from clawbus.bus.settings import Settings
from clawbus.bus.settings.channels import ErrorPolicy
from clawbus.bus.sqs_record import SqsRecord
from clawbus.bus.topology import DLQ_MAX_RECEIVE_COUNT, ledger_table_name
from clawbus.dispatcher.core import Route, build_request
from clawbus.dispatcher.failure_notice import FailureNotices
from clawbus.dispatcher.publisher import Publisher
from clawbus.schemas import InboundEvent, Peer, PeerKind, ReplyTarget, reply_id
from clawbus.storage.backends import idempotency_store
from clawbus.storage.claim_check import ClaimChecks
from tests.conftest import Bus
from tests.dispatcher.conftest import Recorder, received

ROUTE = Route("telegram", "default", ReplyTarget(chat_id="42"))


def _unit(n: int, receive_count: int = 1) -> list[SqsRecord]:
    event = InboundEvent(
        event_id=f"telegram:bot:{n}",
        channel="telegram",
        session_key="agent:main:telegram:direct:42",
        peer=Peer(kind=PeerKind.DIRECT, id="42"),
        text=f"message {n}",
        reply_to=ReplyTarget(chat_id="42"),
        received_at=datetime(2026, 12, 5, tzinfo=UTC),
    )
    return [received(event, receive_count)]


async def _notices(bus: Bus, policy: ErrorPolicy) -> AsyncIterator[tuple[FailureNotices, Recorder]]:
    settings = Settings.model_validate({"aws": {"endpoint_url": bus.endpoint}, "bus": {"prefix": bus.prefix}})
    async with open_stage_clients(settings, DispatcherClients) as clients:
        assert clients.s3
        topic = Recorder()
        claim_checks = ClaimChecks(
            clients.s3, settings.bus.bucket_name(), settings.dispatcher.claim_check_bytes
        )
        cooldowns = idempotency_store(clients.dynamodb, ledger_table_name(bus.prefix))
        yield (
            FailureNotices(
                Publisher(topic, claim_checks), {"telegram": policy}, cooldowns, frozenset({"telegram"})
            ),
            topic,
        )


async def _give_up(notices: FailureNotices, unit: list[SqsRecord], error: ClawbusError) -> None:
    event = InboundEvent.model_validate_json(unit[0].body)
    notices.attempting(unit, build_request([event]), ROUTE, presence=True)
    await notices.dead_lettered(unit, error)


def _shown(topic: Recorder) -> list[tuple[str, str, str]]:
    """(dedup id, kind, text) of each publication."""
    out = []
    for dedup, body, _ in topic.published:
        reply = json.loads(body)
        out.append((dedup, reply["kind"], "".join(p["text"] for p in reply["parts"])))
    return out


@pytest.fixture
async def once(bus: Bus) -> AsyncIterator[tuple[FailureNotices, Recorder]]:
    async for pair in _notices(bus, "once"):
        yield pair


async def test_once_tells_a_conversation_each_reason_once_and_a_redelivered_failure_again_by_its_id(
    once: tuple[FailureNotices, Recorder],
) -> None:
    notices, topic = once
    await _give_up(notices, _unit(1), Unavailable("a"))
    await _give_up(notices, _unit(1, receive_count=2), Unavailable("a"))  # the same failure, redelivered
    await _give_up(notices, _unit(2), Unavailable("b"))  # another turn, same reason: its draft goes
    await _give_up(notices, _unit(3), DeadlineExceeded("c"))  # another reason: told

    shown = _shown(topic)
    first, again, second, third = shown
    assert first[1:] == (
        "message",
        "⚠️ Sorry, I could not answer that: the agent is unreachable. Please try again later.",
    )
    assert again == first  # same dedup id: the topic and egress's sent ledger keep it to one
    assert second[1:] == ("progress", "")  # the draft of the silenced turn is deleted
    assert third[1] == "message"
    assert "timed out" in third[2]
    assert notices.sent == 3


async def test_a_message_given_up_before_its_turn_was_planned_is_told_in_its_own_chat(
    once: tuple[FailureNotices, Recorder],
) -> None:
    """The ledger unreachable on every receive, say: no turn was noted, the user is told all the same,
    once, under the id a turn of exactly that message would have had; an unreadable envelope names nobody."""
    notices, topic = once
    error = Unavailable("GetItem: ServiceUnavailable (503)")  # before any turn was noted for the unit
    for receive in (DLQ_MAX_RECEIVE_COUNT, DLQ_MAX_RECEIVE_COUNT + 1):  # a crash after telling: told again
        await notices.dead_lettered(_unit(8, receive), error)
    first, again = topic.published
    assert first[0] == again[0] == f"{reply_id(['telegram:bot:8'])}-failed"  # one message for the user
    reply = json.loads(first[1])
    assert (reply["channel"], reply["target"]["chat_id"], reply["kind"]) == ("telegram", "42", "message")
    assert "unreachable" in reply["parts"][0]["text"]

    unreadable = [dataclasses.replace(_unit(9, DLQ_MAX_RECEIVE_COUNT)[0], body="{not an envelope")]
    await notices.dead_lettered(unreadable, error)
    assert len(topic.published) == 2
