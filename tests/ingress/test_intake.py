"""Intake stamps every admitted event with why it was admitted (`access`), the stamp later stages trust:
only the owner and allowed DM senders move the last route and get the full tool set."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import pytest

from clawbus.bus.clients import IngressClients, open_stage_clients
from clawbus.bus.queues import FifoMessage
from clawbus.bus.settings import Settings
from clawbus.bus.topology import ledger_table_name, pairing_table_name
from clawbus.channels.slack import inbound as slack
from clawbus.channels.telegram import inbound as telegram
from clawbus.ingress.core import Parsed, Turn
from clawbus.ingress.dedup_store import DynamoDedupStore
from clawbus.ingress.intake import Intake
from clawbus.ingress.pairing_store import DynamoPairingStore
from clawbus.ingress.publisher import InboundPublisher
from clawbus.schemas import Access, InboundEvent, OutboundReply, parse_inbound, trusted
from clawbus.schemas.thread_binding import Conversation, ThreadBinding
from clawbus.storage.thread_bindings import thread_binding_store
from tests.conftest import Bus
from tests.ingress import payloads as p

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class InboundQueue:
    """The inbound queue as the dispatcher would read it: the events enqueued, in order."""

    def __init__(self) -> None:
        self.events: list[InboundEvent] = []

    async def send(self, body: str, *, group_id: str, dedup_id: str, attributes: dict[str, str]) -> str:
        self.events.append(parse_inbound(body))
        return f"m{len(self.events)}"

    async def send_many(self, messages: Sequence[FifoMessage]) -> list[str]:
        return [
            await self.send(m.body, group_id=m.group_id, dedup_id=m.dedup_id, attributes=dict(m.attributes))
            for m in messages
        ]


class Replies:
    """The outbound topic: the replies ingress published itself (pairing codes, /link answers)."""

    def __init__(self) -> None:
        self.sent: list[OutboundReply] = []

    async def publish(self, body: str, *, group_id: str, dedup_id: str, attributes: dict[str, str]) -> None:
        self.sent.append(OutboundReply.model_validate_json(body))


class NoReplies:
    async def publish(self, body: str, *, group_id: str, dedup_id: str, attributes: dict[str, str]) -> None:
        raise AssertionError("no pairing reply expected")


@pytest.fixture
async def intake(bus: Bus) -> AsyncIterator[tuple[Intake, InboundQueue, DynamoPairingStore]]:
    settings = Settings(
        aws={"endpoint_url": bus.endpoint, "region": "us-east-1"},
        bus={"prefix": bus.prefix},
        telegram={
            "bot_token": p.BOT_TOKEN,
            "bot_username": p.BOT_USERNAME,
            "allow_from": ["tg:42"],
            "group_policy": "open",
        },
        slack={"bot_token": "xoxb-test", "signing_secret": "s", "dm_policy": "open"},
    )
    queue = InboundQueue()
    async with open_stage_clients(settings, IngressClients) as clients:
        pairing = DynamoPairingStore(clients.dynamodb, pairing_table_name(bus.prefix))
        yield (
            Intake(
                settings,
                publisher=InboundPublisher(queue),
                replies=NoReplies(),
                dedup=DynamoDedupStore(clients.dynamodb, ledger_table_name(bus.prefix), 86_400),
                pairing=pairing,
                clock=lambda: NOW,
            ),
            queue,
            pairing,
        )


def _telegram(intake: Intake, **message: object) -> Parsed:
    update = p.telegram_message(**message)  # type: ignore[arg-type]
    return telegram.normalise(update, bot_id=p.BOT_ID, bot_username=p.BOT_USERNAME, ctx=intake.context())


async def test_each_admitted_message_says_why_it_was_admitted(
    intake: tuple[Intake, InboundQueue, DynamoPairingStore],
) -> None:
    gate, queue, pairing = intake
    await pairing.add_paired("telegram", "default", ["77"])
    await pairing.add_paired("slack", "default", ["U0PAIRED"])
    await gate.accept("telegram", _telegram(gate, user_id=42, chat_id=42, text="owner, allowlisted"))
    await gate.accept("telegram", _telegram(gate, user_id=77, chat_id=77, text="paired"))
    await gate.accept(
        "telegram", _telegram(gate, user_id=42, chat_id=-100, chat_type="group", mention=True, text="group")
    )
    await gate.accept("slack", slack.normalise(p.slack_event(text="a stranger"), ctx=gate.context()))
    paired_dm = p.slack_event(text="paired, under an open policy", user="U0PAIRED", channel="D0PAIRED")
    await gate.accept("slack", slack.normalise(paired_dm, ctx=gate.context()))
    assert [(e.text.removeprefix(f"@{p.BOT_USERNAME} "), e.access) for e in queue.events] == [
        ("owner, allowlisted", Access.ALLOWED),
        ("paired", Access.ALLOWED),
        ("group", Access.GROUP),
        ("a stranger", Access.OPEN),
        ("paired, under an open policy", Access.ALLOWED),
    ]
    assert [trusted(e) for e in queue.events] == [True, True, False, False, True]


async def test_a_preset_access_is_replaced_by_the_gates_verdict_unless_it_is_owner(
    intake: tuple[Intake, InboundQueue, DynamoPairingStore],
) -> None:
    gate, queue, _ = intake

    def preset(parsed: Parsed, access: Access) -> Parsed:
        (turn,) = parsed.turns
        event = turn.event.model_copy(update={"access": access})
        return Parsed(turns=(Turn(event, turn.mentioned),))

    group = _telegram(gate, user_id=9, chat_id=-100, chat_type="group", mention=True, text="claims")
    await gate.accept("telegram", preset(group, Access.ALLOWED))
    owner = _telegram(gate, user_id=42, chat_id=42, text="authenticated by its transport")
    await gate.accept("telegram", preset(owner, Access.OWNER))
    assert [e.access for e in queue.events] == [Access.GROUP, Access.OWNER]
    assert json.loads(queue.events[1].to_wire())["access"] == "owner"


async def test_an_unknown_sender_gets_the_channels_own_pairing_template(bus: Bus) -> None:
    settings = Settings(
        aws={"endpoint_url": bus.endpoint, "region": "us-east-1"},
        bus={"prefix": bus.prefix},
        telegram={"bot_token": p.BOT_TOKEN, "pairing_message": "Ask Sam to approve {code} ({senderId})."},
    )
    replies, queue = Replies(), InboundQueue()
    async with open_stage_clients(settings, IngressClients) as clients:
        pairing = DynamoPairingStore(clients.dynamodb, pairing_table_name(bus.prefix))
        intake = Intake(
            settings,
            publisher=InboundPublisher(queue),
            replies=replies,
            dedup=DynamoDedupStore(clients.dynamodb, ledger_table_name(bus.prefix), 86_400),
            pairing=pairing,
            clock=lambda: NOW,
        )
        await intake.accept("telegram", _telegram(intake, user_id=555, chat_id=555, text="hi"))
        [request] = await pairing.pending("telegram", "default", NOW)
    assert queue.events == []
    [reply] = replies.sent
    assert reply.parts[0].text == f"Ask Sam to approve {request.code} (555)."


async def test_a_message_in_a_bound_thread_goes_to_the_bound_session(bus: Bus) -> None:
    settings = Settings(
        aws={"endpoint_url": bus.endpoint, "region": "us-east-1"},
        bus={"prefix": bus.prefix},
        slack={
            "bot_token": "xoxb-test",
            "signing_secret": "s",
            "group_policy": "open",
            "require_mention": False,
        },
    )
    queue = InboundQueue()
    async with open_stage_clients(settings, IngressClients) as clients:
        threads = thread_binding_store(clients.dynamodb, pairing_table_name(bus.prefix))
        gate = Intake(
            settings,
            publisher=InboundPublisher(queue),
            replies=NoReplies(),
            dedup=DynamoDedupStore(clients.dynamodb, ledger_table_name(bus.prefix), 86_400),
            pairing=DynamoPairingStore(clients.dynamodb, pairing_table_name(bus.prefix)),
            clock=lambda: NOW,
            threads=threads,
        )
        # The thread a sub-agent was spawned into is bound to its session (as OpenClaw's runtime binds it).
        thread = Conversation(
            channel="slack", account_id="default", chat_id="C0WORK", thread_id="1760000000.000100"
        )
        await threads.bind(
            ThreadBinding(
                conversation=thread,
                agent_id="research",
                session_key="agent:research:subagent:42",
                bound_at=NOW,
                last_active_at=NOW,
            )
        )
        for text, ts in (
            ("in the bound thread", "1760000000.000100"),
            ("in another thread", "1760000000.000200"),
        ):
            event = p.slack_event(text=text, channel="C0WORK", channel_type="channel", thread_ts=ts)
            await gate.accept("slack", slack.normalise(event, ctx=gate.context()))
    bound, other = queue.events
    assert (bound.agent_id, bound.session_key) == ("research", "agent:research:subagent:42")
    assert bound.reply_to is not None
    assert bound.reply_to.thread_id == "1760000000.000100"  # answered in its thread
    assert (other.agent_id, other.session_key) == (
        "main",
        "agent:main:slack:channel:c0work:thread:1760000000.000200",
    )
