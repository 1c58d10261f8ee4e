"""`/link` at ingress: a code asked for on one account and redeemed on another makes both one person, and
with dmScope `per-peer` their DMs one session. Wrong codes get one plain answer, attempts are limited,
only allowed senders may link. Intake against the loopback AWS API; replies read off the outbound topic."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from clawbus.bus.clients import IngressClients, open_stage_clients
from clawbus.bus.settings import Settings
from clawbus.bus.topology import ledger_table_name, pairing_table_name
from clawbus.channels.slack import inbound as slack
from clawbus.channels.telegram import inbound as telegram
from clawbus.ingress.core.linking import INVALID, NOT_ALLOWED, RATE_LIMITED, Ask, Redeem, parse_link
from clawbus.ingress.dedup_store import DynamoDedupStore
from clawbus.ingress.intake import Intake
from clawbus.ingress.pairing_store import DynamoPairingStore
from clawbus.ingress.publisher import InboundPublisher
from clawbus.storage.identity_links import MAX_ATTEMPTS, identity_link_store
from tests.conftest import Bus
from tests.ingress import payloads as p
from tests.ingress.test_intake import InboundQueue, Replies

NOW = datetime(2026, 12, 5, 12, 0, 1, tzinfo=UTC)
CODE = re.compile(
    r"Your link code is (\d{3}-\d{3}); send `/link \1` from your other account within 10 minutes\."
)


@dataclass
class Linking:
    intake: Intake
    queue: InboundQueue
    replies: Replies
    now: list[datetime]

    def said(self) -> str:
        """The text of the last reply ingress sent."""
        return self.replies.sent[-1].parts[0].text

    async def telegram(self, text: str, user: int = 42) -> None:
        update = p.telegram_message(user_id=user, chat_id=user, text=text)
        parsed = telegram.normalise(
            update, bot_id=p.BOT_ID, bot_username=p.BOT_USERNAME, ctx=self.intake.context()
        )
        await self.intake.accept("telegram", parsed)

    async def slack(self, text: str, user: str = "U0BOB") -> None:
        event = p.slack_event(text=text, user=user, channel="D0DM", channel_type="im")
        await self.intake.accept("slack", slack.normalise(event, ctx=self.intake.context()))


@pytest.fixture
async def linking(bus: Bus) -> AsyncIterator[Linking]:
    settings = Settings(
        aws={"endpoint_url": bus.endpoint, "region": "us-east-1"},
        bus={"prefix": bus.prefix},
        session={"dm_scope": "per-peer"},
        telegram={"bot_token": p.BOT_TOKEN, "bot_username": p.BOT_USERNAME, "allow_from": ["tg:42", "tg:43"]},
        # Slack open to anyone, Bob named: Bob is `allowed`, anyone else only `open`.
        slack={
            "bot_token": "xoxb-test",
            "signing_secret": "s",
            "dm_policy": "open",
            "allow_from": ["U0BOB", "*"],
        },
    )
    now = [NOW]
    queue, replies = InboundQueue(), Replies()
    async with open_stage_clients(settings, IngressClients) as clients:
        yield Linking(
            Intake(
                settings,
                publisher=InboundPublisher(queue),
                replies=replies,
                dedup=DynamoDedupStore(clients.dynamodb, ledger_table_name(bus.prefix), 86_400),
                pairing=DynamoPairingStore(clients.dynamodb, pairing_table_name(bus.prefix)),
                clock=lambda: now[0],
                links=identity_link_store(clients.dynamodb, pairing_table_name(bus.prefix)),
            ),
            queue,
            replies,
            now,
        )


async def test_a_code_from_telegram_redeemed_on_slack_puts_both_in_one_session(linking: Linking) -> None:
    await linking.telegram("hello from telegram")
    await linking.slack("hello from slack")
    assert [e.session_key for e in linking.queue.events] == [
        "agent:main:direct:42",
        "agent:main:direct:u0bob",
    ]

    await linking.telegram("/link")
    issued = CODE.fullmatch(linking.said())
    assert issued is not None
    await linking.slack(f"/link {issued.group(1)}")
    assert linking.said() == "Linked: this account and your telegram account are now the same person."
    assert len(linking.queue.events) == 2  # neither command reached the agent

    await linking.slack("now from slack again")
    await linking.telegram("and telegram")
    assert [e.session_key for e in linking.queue.events[2:]] == ["agent:main:direct:42"] * 2


async def test_wrong_expired_and_used_codes_all_get_the_same_plain_answer(linking: Linking) -> None:
    await linking.slack("/link 000-000")
    assert linking.said() == INVALID
    await linking.telegram("/link")
    code = CODE.fullmatch(linking.said())
    assert code is not None
    linking.now[0] = NOW + timedelta(minutes=10)  # the code's ten minutes are up
    await linking.slack(f"/link {code.group(1)}")
    assert linking.said() == INVALID
    await linking.telegram("/link", user=43)
    fresh = CODE.fullmatch(linking.said())
    assert fresh is not None
    await linking.slack(f"/link {fresh.group(1)}")
    await linking.telegram(f"/link {fresh.group(1)}", user=42)  # used already
    assert linking.said() == INVALID
    await linking.slack("/link not-a-code")
    assert linking.said() == INVALID
    assert linking.queue.events == []


async def test_a_sender_gets_a_limited_number_of_attempts_per_window(linking: Linking) -> None:
    for n in range(MAX_ATTEMPTS):
        await linking.slack(f"/link 000-00{n}")
        assert linking.said() == INVALID
    await linking.slack("/link 000-009")
    assert linking.said() == RATE_LIMITED
    linking.now[0] = NOW + timedelta(minutes=10)  # the next window
    await linking.slack("/link 000-009")
    assert linking.said() == INVALID


async def test_only_allowed_senders_may_link(linking: Linking) -> None:
    await linking.slack("/link", user="U0STRANGER")  # admitted by the open policy, not allowed
    assert linking.said() == NOT_ALLOWED
    assert linking.queue.events == []


async def test_link_in_a_group_is_text_for_the_agent(linking: Linking) -> None:
    update = p.telegram_message(user_id=42, chat_id=-100, chat_type="group", text=f"@{p.BOT_USERNAME} /link")
    parsed = telegram.normalise(
        update, bot_id=p.BOT_ID, bot_username=p.BOT_USERNAME, ctx=linking.intake.context()
    )
    await linking.intake.accept("telegram", parsed)
    assert linking.replies.sent == []


def test_the_command_is_recognised_as_people_type_it() -> None:
    assert parse_link("/link") == Ask()
    assert parse_link("  /LINK@clawbus_bot ") == Ask()
    assert parse_link("/link 123-456") == Redeem("123456")
    assert parse_link("/link 123 456") == Redeem("123456")
    assert parse_link("/link hello") == Redeem(None)
    assert parse_link("/linked") is None
    assert parse_link("please /link") is None
