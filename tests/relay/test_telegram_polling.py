"""Telegram long polling: `clawbus relay` with `CLAWBUS_TELEGRAM__MODE=polling` against a fake Bot API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from clawbus.bus.topology import egress_queue_name, ledger_table_name
from tests.conftest import Bus
from tests.fakes.platforms import FakePlatforms
from tests.helpers import wait_for
from tests.ingress import payloads as p
from tests.relay.conftest import RelayProcess, start_relay


@pytest.fixture
def fake() -> Iterator[FakePlatforms]:
    with FakePlatforms() as platforms:
        yield platforms


def telegram_env(fake: FakePlatforms, **extra: str) -> dict[str, str]:
    return {
        "CLAWBUS_TELEGRAM__BOT_TOKEN": p.BOT_TOKEN,
        "CLAWBUS_TELEGRAM__MODE": "polling",
        "CLAWBUS_TELEGRAM__API_BASE": fake.api_base("telegram"),
        "CLAWBUS_TELEGRAM__POLL_TIMEOUT_S": "1",
        "CLAWBUS_TELEGRAM__BOT_USERNAME": p.BOT_USERNAME,
        "CLAWBUS_TELEGRAM__DM_POLICY": "open",
        "CLAWBUS_TELEGRAM__ALLOW_FROM": '["*"]',
        "CLAWBUS_TELEGRAM__GROUP_POLICY": "open",
        **extra,
    }


def relay(
    bus: Bus, tmp_path: Path, fake: FakePlatforms, started: list[RelayProcess], **extra: str
) -> RelayProcess:
    process = start_relay(bus, tmp_path / f"logs{len(started)}", telegram_env(fake, **extra))
    started.append(process)
    return process


def texts(messages: list[dict[str, object]]) -> list[object]:
    return [m["text"] for m in messages]


def test_polled_updates_land_on_the_inbound_queue_once_each_and_the_offset_confirms_them(
    bus: Bus, tmp_path: Path, fake: FakePlatforms, relay_runner: list[RelayProcess]
) -> None:
    first = p.telegram_message(user_id=42, text="one")
    fake.push_update(first)
    fake.push_update(p.telegram_message(user_id=42, text="two"))
    fake.push_update(p.telegram_message(chat_type="supergroup", chat_id=-100, text="ignored, no mention"))
    group = p.telegram_message(chat_type="supergroup", chat_id=-100, text="in the group", mention=True)
    fake.push_update(group)
    running = relay(bus, tmp_path, fake, relay_runner)

    got = running.drain(expect=3)
    assert texts(got) == ["one", "two", f"@{p.BOT_USERNAME} in the group"]
    assert got[0]["event_id"] == f"telegram:{p.BOT_ID}:{first['update_id']}"
    assert got[0]["session_key"] == "agent:main:telegram:direct:42"
    assert got[2]["session_key"] == "agent:main:telegram:group:-100"
    # The next poll confirms everything handed over: Telegram drops it and never sends it again.
    wait_for(lambda: group["update_id"] + 1 in fake.polls, what="a poll confirming the batch")
    assert fake.updates == []
    assert running.events("relay.connection.opened")


def test_a_502_and_a_dropped_connection_are_retried_and_nothing_is_lost_or_doubled(
    bus: Bus, tmp_path: Path, fake: FakePlatforms, relay_runner: list[RelayProcess]
) -> None:
    running = relay(bus, tmp_path, fake, relay_runner)
    fake.push_update(p.telegram_message(user_id=7, text="before"))
    assert texts(running.drain(expect=1)) == ["before"]

    fake.fail_polls(502, times=2)
    fake.drop_polls(times=1)
    wait_for(lambda: running.events("relay.connection.lost"), what="the first failed poll")
    fake.push_update(p.telegram_message(user_id=7, text="during the outage"))
    fake.push_update(p.telegram_message(user_id=7, text="right after"))

    got = running.drain(expect=2)
    assert texts(got) == ["during the outage", "right after"]
    reasons = [e["reason"] for e in running.events("relay.connection.lost")]
    assert len(reasons) == 3, reasons
    assert sum("Bad Gateway" in r for r in reasons) == 2, reasons
    assert running.drain(timeout=1) == []


def test_a_restart_fetches_the_unconfirmed_update_again_under_the_same_deduplication_id(
    bus: Bus, tmp_path: Path, fake: FakePlatforms, relay_runner: list[RelayProcess]
) -> None:
    update = p.telegram_message(user_id=9, text="only once")
    fake.push_update(update)
    fake.fail_polls(502, times=10_000, after=1)  # the poll after the one that fetched it fails
    first = relay(bus, tmp_path, fake, relay_runner)
    assert texts(first.drain(expect=1)) == ["only once"]
    wait_for(lambda: first.events("relay.connection.lost"), what="a failed poll")
    assert first.stop() == 0
    assert [u["update_id"] for u in fake.updates] == [update["update_id"]]  # never confirmed

    fake.clear_poll_failures()
    second = relay(bus, tmp_path, fake, relay_runner)
    # Handed over again as the same event, under the same deduplication id: SQS drops the copy (its
    # first send was under 5 minutes ago, consumed or not), and a copy that came later than that would
    # be answered from the dispatcher's turn ledger (tests/dispatcher/test_answered_once.py).
    event_id = f"telegram:{p.BOT_ID}:{update['update_id']}"
    wait_for(lambda: second.events("ingress.event.accepted"), what="the update handed over again")
    assert [e["event_id"] for e in second.events("ingress.event.accepted")] == [event_id]
    assert second.drain(timeout=1) == []


def test_a_webhook_is_removed_before_polling(
    bus: Bus, tmp_path: Path, fake: FakePlatforms, relay_runner: list[RelayProcess]
) -> None:
    fake.set_webhook("https://old.example/webhooks/telegram")
    fake.push_update(p.telegram_message(user_id=5, text="after the webhook"))
    running = relay(bus, tmp_path, fake, relay_runner)
    assert texts(running.drain(expect=1)) == ["after the webhook"]
    assert fake.webhook_url == ""
    assert running.events("relay.telegram.webhook_deleted")


def test_an_unknown_sender_gets_a_pairing_code_and_no_turn(
    bus: Bus, tmp_path: Path, fake: FakePlatforms, relay_runner: list[RelayProcess]
) -> None:
    running = relay(
        bus,
        tmp_path,
        fake,
        relay_runner,
        CLAWBUS_TELEGRAM__DM_POLICY="pairing",
        CLAWBUS_TELEGRAM__ALLOW_FROM="[]",
    )
    fake.push_update(p.telegram_message(user_id=31337, chat_id=31337, text="let me in"))
    replies = running.drain(egress_queue_name(bus.prefix, "telegram"), expect=1)
    assert len(replies) == 1
    assert "Pairing code" in replies[0]["parts"][0]["text"]
    assert running.drain(timeout=1) == []


def test_an_update_a_killed_relay_left_half_enqueued_is_delivered_at_once_by_the_next(
    bus: Bus, tmp_path: Path, fake: FakePlatforms, relay_runner: list[RelayProcess]
) -> None:
    """A relay killed between claiming an update (a slash command: ordinary messages take no claim) and
    marking it done leaves the claim pending, and Telegram hands the unconfirmed update to the restarted
    relay first. It used to wait out the dead claim's 30 s lease (failing `ingress.enqueue.failed`
    meanwhile) with every chat behind it."""
    stuck = p.telegram_message(user_id=11, text="/new half enqueued")
    event_id = f"telegram:{p.BOT_ID}:{stuck['update_id']}"
    now = int(time.time())
    bus.client("dynamodb").put_item(  # the claim as the killed relay left it, its lease still running
        TableName=ledger_table_name(bus.prefix),
        Item={
            "pk": {"S": f"in:{event_id}"},
            "state": {"S": "pending"},
            "lease_until": {"N": str(now + 30)},
            "expires_at": {"N": str(now + 8 * 24 * 3600)},
        },
    )
    fake.push_update(stuck)
    fake.push_update(p.telegram_message(user_id=12, text="another chat, behind it"))
    running = relay(bus, tmp_path, fake, relay_runner, CLAWBUS_RELAY__ENQUEUE_RETRY_S="60")

    assert texts(running.drain(expect=2, timeout=15)) == ["/new half enqueued", "another chat, behind it"]
    assert running.events("ingress.event.pending_claim_found")
    assert not running.events("ingress.enqueue.failed")
