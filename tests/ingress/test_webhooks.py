"""The webhook routes of a real `clawbus ingress` process, against the loopback AWS API.

Requests are signed the way each platform signs them; assertions read what landed on the inbound
queue (and, for pairing, on the Telegram egress queue), which is what the rest of the pipeline sees.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from nacl.signing import SigningKey

from clawbus.bus.topology import egress_queue_name, inbound_queue_name
from clawbus.channels.discord.inbound import signed_headers as discord_headers
from clawbus.channels.slack.inbound import signed_headers as slack_headers
from clawbus.channels.telegram.inbound import signed_headers as telegram_headers
from clawbus.channels.whatsapp.inbound import signed_headers as whatsapp_headers
from tests.conftest import Bus, make_bus
from tests.helpers import drain_queue, free_port, stage, stage_supervisor
from tests.ingress import payloads as p

TG_SECRET = "tg-webhook-secret"
SLACK_SECRET = "slack-signing-secret"
WA_SECRET = "meta-app-secret"
WA_VERIFY = "my-verify-token"
DISCORD_KEY = SigningKey.generate()


@dataclass
class Ingress:
    bus: Bus
    url: str
    env: dict[str, str]
    log: Path

    def log_events(self, event: str) -> list[dict[str, Any]]:
        """The JSON log records the ingress process wrote with this `event` name so far."""
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        records = [json.loads(line) for line in lines if line.startswith("{")]
        return [r for r in records if r.get("event") == event]

    def drain(self, queue: str | None = None, expect: int = 0, timeout: float = 10) -> list[dict[str, Any]]:
        """Every message on the inbound (or another) queue, deleted; waits until `expect` arrived. The
        mid-turn copies of ordinary messages are left out (`test_control_lane.py` covers them)."""
        url = self.bus.queue_url(queue or inbound_queue_name(self.bus.prefix))
        return drain_queue(self.bus.client("sqs"), url, expect, timeout, mid_turn_copies=False)

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(f"{self.url}{path}", content=body, headers=headers, timeout=10)


@pytest.fixture(scope="module")
def ingress(aws_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ingress]:
    bus = make_bus(aws_endpoint)
    port = free_port()
    env = {
        **bus.env,
        "CLAWBUS_INGRESS__PORT": str(port),
        "CLAWBUS_SESSION__DM_SCOPE": "per-channel-peer",
        "CLAWBUS_TELEGRAM__BOT_TOKEN": p.BOT_TOKEN,
        "CLAWBUS_TELEGRAM__WEBHOOK_SECRET": TG_SECRET,
        "CLAWBUS_TELEGRAM__BOT_USERNAME": p.BOT_USERNAME,
        "CLAWBUS_TELEGRAM__ALLOW_FROM": '["tg:42"]',
        "CLAWBUS_TELEGRAM__GROUP_ALLOW_FROM": '["-100"]',
        "CLAWBUS_SLACK__BOT_TOKEN": "xoxb-test",
        "CLAWBUS_SLACK__SIGNING_SECRET": SLACK_SECRET,
        "CLAWBUS_SLACK__DM_POLICY": "open",
        "CLAWBUS_SLACK__GROUP_POLICY": "open",
        "CLAWBUS_DISCORD__BOT_TOKEN": "discord-bot-token",
        "CLAWBUS_DISCORD__PUBLIC_KEY": DISCORD_KEY.verify_key.encode().hex(),
        "CLAWBUS_DISCORD__DM_POLICY": "open",
        "CLAWBUS_DISCORD__GROUP_POLICY": "open",
        "CLAWBUS_WHATSAPP__ACCESS_TOKEN": "wa-access-token",
        "CLAWBUS_WHATSAPP__APP_SECRET": WA_SECRET,
        "CLAWBUS_WHATSAPP__VERIFY_TOKEN": WA_VERIFY,
        "CLAWBUS_WHATSAPP__DM_POLICY": "allowlist",
        "CLAWBUS_WHATSAPP__ALLOW_FROM": '["+4915112345678", "4915112345678"]',
    }
    log_dir = tmp_path_factory.mktemp("ingress") / "logs"
    supervisor = stage_supervisor(log_dir, env)
    supervisor.start_all([stage("ingress", "ingress.started", "ingress")])
    yield Ingress(bus, f"http://127.0.0.1:{port}", env, log_dir / "ingress.log")
    codes = supervisor.stop_all()
    assert all(code == 0 for _, code in codes), codes


def send_telegram(ingress: Ingress, update: dict[str, Any], secret: str = TG_SECRET) -> httpx.Response:
    return ingress.post("/webhooks/telegram", json.dumps(update).encode(), telegram_headers(secret))


def send_slack(ingress: Ingress, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
    raw = json.dumps(body).encode()
    return ingress.post(
        "/webhooks/slack/events", raw, slack_headers(SLACK_SECRET, raw, int(time.time()), **kwargs)
    )


def send_discord(
    ingress: Ingress, body: dict[str, Any], key: SigningKey = DISCORD_KEY, sent_at: int | None = None
) -> httpx.Response:
    raw = json.dumps(body).encode()
    headers = discord_headers(key, raw, int(time.time()) if sent_at is None else sent_at)
    return ingress.post("/webhooks/discord/interactions", raw, headers)


def send_whatsapp(ingress: Ingress, body: dict[str, Any], secret: str = WA_SECRET) -> httpx.Response:
    raw = json.dumps(body).encode()
    return ingress.post("/webhooks/whatsapp", raw, whatsapp_headers(secret, raw))


# --- Telegram ---------------------------------------------------------------------------------------


def test_a_telegram_dm_sent_twice_is_enqueued_once_in_its_session(ingress: Ingress) -> None:
    ingress.drain()
    update = p.telegram_message(user_id=42, chat_id=42, text="hello bus")
    assert send_telegram(ingress, update).status_code == 200
    assert send_telegram(ingress, update).status_code == 200  # Telegram's retry
    [event] = ingress.drain(expect=1)
    assert event["event_id"] == f"telegram:{p.BOT_ID}:{update['update_id']}"
    assert event["session_key"] == event["_group"] == "agent:main:telegram:direct:42"
    assert event["text"] == "hello bus"
    assert ingress.drain() == []


def test_telegram_group_messages_need_a_mention_and_an_allowlisted_group(ingress: Ingress) -> None:
    ingress.drain()
    for update in [
        p.telegram_message(chat_id=-100, chat_type="group", text="chatter"),
        p.telegram_message(chat_id=-200, chat_type="group", mention=True),
        p.telegram_message(from_bot=True),
        p.telegram_message(edited=True),
    ]:
        assert send_telegram(ingress, update).status_code == 200
    addressed = p.telegram_message(chat_id=-100, chat_type="supergroup", topic=7, mention=True)
    assert send_telegram(ingress, addressed).status_code == 200
    [event] = ingress.drain(expect=1)
    assert event["session_key"] == "agent:main:telegram:group:-100:topic:7"


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"{}", telegram_headers("wrong"), 401),
        (b"{}", {"content-type": "application/json"}, 401),
        (b"{not json", telegram_headers(TG_SECRET), 400),
        (b'{"update_id": "x"}', telegram_headers(TG_SECRET), 400),
        (b"update_id=1", {**telegram_headers(TG_SECRET), "content-type": "text/plain"}, 415),
        (b"{" + b" " * 1_100_000 + b"}", telegram_headers(TG_SECRET), 413),
    ],
)
def test_bad_telegram_requests_get_a_4xx_and_enqueue_nothing(
    ingress: Ingress, body: bytes, headers: dict[str, str], status: int
) -> None:
    ingress.drain()
    assert ingress.post("/webhooks/telegram", body, headers).status_code == status
    assert ingress.drain() == []


def test_pairing_end_to_end_an_unknown_sender_gets_a_code_and_is_let_in_after_approval(
    ingress: Ingress,
) -> None:
    ingress.drain()
    egress = egress_queue_name(ingress.bus.prefix, "telegram")
    ingress.drain(egress)
    assert (
        send_telegram(ingress, p.telegram_message(user_id=777, chat_id=777, text="let me in")).status_code
        == 200
    )
    assert (
        send_telegram(ingress, p.telegram_message(user_id=777, chat_id=777, text="hello?")).status_code == 200
    )
    assert ingress.drain() == []  # no turn for an unknown sender
    [reply] = ingress.drain(egress, expect=1)  # one pairing reply, not one per message
    text = reply["parts"][0]["text"]
    assert "777" in text
    code = text.split("Pairing code: ")[1].split()[0]
    assert f"clawbus pairing approve telegram {code}" in text
    cli = [sys.executable, "-m", "clawbus.cli", "pairing"]
    listed = subprocess.run(
        [*cli, "list", "telegram", "--json"], env=ingress.env, capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    assert [(r["sender_id"], r["code"]) for r in json.loads(listed.stdout)] == [("777", code)]
    wrong = subprocess.run(
        [*cli, "approve", "telegram", "ZZZZ2222"], env=ingress.env, capture_output=True, text=True
    )
    assert wrong.returncode == 1
    assert "no pending telegram pairing request" in wrong.stderr
    approved = subprocess.run(
        [*cli, "approve", "telegram", code.lower(), "--json"], env=ingress.env, capture_output=True, text=True
    )
    assert approved.returncode == 0, approved.stderr
    assert json.loads(approved.stdout) == {"channel": "telegram", "sender_id": "777", "approved": True}
    assert (
        send_telegram(ingress, p.telegram_message(user_id=777, chat_id=777, text="thanks")).status_code == 200
    )
    [event] = ingress.drain(expect=1)
    assert event["text"] == "thanks"


# --- Slack ------------------------------------------------------------------------------------------


def test_slack_url_verification_is_echoed(ingress: Ingress) -> None:
    response = send_slack(
        ingress,
        {
            "token": "t",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        },
    )
    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


def test_a_slack_thread_message_and_its_retry_make_one_turn(ingress: Ingress) -> None:
    ingress.drain()
    body = p.slack_event(
        text=f"<@{p.SLACK_BOT_USER}> summarise",
        channel="C0GEN",
        channel_type="channel",
        thread_ts="1759.000200",
    )
    assert send_slack(ingress, body).status_code == 200
    retry = send_slack(ingress, body, retry_num=1)
    assert retry.status_code == 200
    [event] = ingress.drain(expect=1)
    assert event["session_key"] == "agent:main:slack:channel:c0gen:thread:1759.000200"


def test_slack_bot_messages_edits_and_unmentioned_channel_chatter_are_not_turns(ingress: Ingress) -> None:
    ingress.drain()
    for body in [
        p.slack_event(user=p.SLACK_BOT_USER),
        p.slack_event(subtype="message_changed"),
        p.slack_event(channel="C0GEN", channel_type="channel", text="no mention"),
    ]:
        assert send_slack(ingress, body).status_code == 200
    assert ingress.drain() == []


def test_a_stale_or_forged_slack_request_is_refused_without_retries(ingress: Ingress) -> None:
    ingress.drain()
    raw = json.dumps(p.slack_event()).encode()
    stale = slack_headers(SLACK_SECRET, raw, int(time.time()) - 600)
    forged = slack_headers("not-the-secret", raw, int(time.time()))
    for headers in (stale, forged):
        response = ingress.post("/webhooks/slack/events", raw, headers)
        assert response.status_code == 401
        assert response.headers["x-slack-no-retry"] == "1"
    assert ingress.drain() == []


# --- Discord ----------------------------------------------------------------------------------------


def test_discord_ping_pong_and_a_slash_command_is_deferred_and_enqueued(ingress: Ingress) -> None:
    ingress.drain()
    ping = send_discord(ingress, {"id": "1", "application_id": "2", "type": 1, "version": 1})
    assert ping.json() == {"type": 1}
    command = p.discord_command(text="status?", guild=True)
    response = send_discord(ingress, command)
    assert response.json() == {"type": 5}
    assert send_discord(ingress, command).json() == {"type": 5}  # a duplicate delivery
    [event] = ingress.drain(expect=1)
    assert event["event_id"] == f"discord:{command['id']}"
    assert event["session_key"] == "agent:main:discord:channel:1100000000000000200"
    assert event["reply_to"]["interaction_token"] == command["token"]


def test_discord_requests_signed_with_another_key_are_a_401(ingress: Ingress) -> None:
    ingress.drain()
    response = send_discord(ingress, p.discord_command(), key=SigningKey.generate())
    assert response.status_code == 401
    assert ingress.drain() == []


def test_a_captured_discord_interaction_replayed_later_is_a_401_and_says_why_in_the_log(
    ingress: Ingress,
) -> None:
    ingress.drain()
    command = p.discord_command(text="transfer the money")
    response = send_discord(ingress, command, sent_at=int(time.time()) - 600)  # validly signed, 10 min old
    assert response.status_code == 401
    assert "outside the 300 s window" in response.json()["error"]
    assert ingress.drain() == []
    rejected = [r for r in ingress.log_events("ingress.signature.rejected") if r.get("channel") == "discord"]
    assert any("s old, outside the 300 s window" in r["reason"] for r in rejected), rejected
    assert not any("transfer the money" in json.dumps(r) for r in rejected)
    assert send_discord(ingress, command).json() == {"type": 5}  # the same interaction, fresh: accepted


# --- WhatsApp ---------------------------------------------------------------------------------------


def test_whatsapp_verification_challenge(ingress: Ingress) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": WA_VERIFY, "hub.challenge": "1158201444"}
    ok = httpx.get(f"{ingress.url}/webhooks/whatsapp", params=query)
    assert (ok.status_code, ok.text) == (200, "1158201444")
    bad = httpx.get(f"{ingress.url}/webhooks/whatsapp", params={**query, "hub.verify_token": "guess"})
    assert bad.status_code == 403


def test_a_whatsapp_message_is_a_turn_and_status_receipts_are_not(ingress: Ingress) -> None:
    ingress.drain()
    body = p.whatsapp_message(text="moin", statuses=True)
    assert send_whatsapp(ingress, body).status_code == 200
    assert send_whatsapp(ingress, body).status_code == 200
    assert send_whatsapp(ingress, p.whatsapp_status()).status_code == 200
    assert (
        send_whatsapp(ingress, p.whatsapp_message(sender="4917000000000")).status_code == 200
    )  # not allowed
    [event] = ingress.drain(expect=1)
    assert event["session_key"] == "agent:main:whatsapp:direct:4915112345678"
    assert event["text"] == "moin"


def test_a_whatsapp_message_older_than_the_dedup_memory_is_acknowledged_dropped_and_logged(
    ingress: Ingress,
) -> None:
    ingress.drain()
    nine_days_ago = int(time.time()) - 9 * 24 * 3600  # the default dedup memory is 8 days
    body = p.whatsapp_message(wamid="wamid.REPLAYED", text="old news", sent_at=nine_days_ago)
    assert send_whatsapp(ingress, body).status_code == 200  # validly signed: a 4xx would make Meta retry
    assert ingress.drain() == []
    ignored = ingress.log_events("ingress.event.ignored")
    assert {"channel": "whatsapp", "event_id": "whatsapp:wamid.REPLAYED", "reason": "stale"}.items() <= next(
        r for r in ignored if r.get("event_id") == "whatsapp:wamid.REPLAYED"
    ).items()


def test_a_whatsapp_post_with_a_bad_signature_is_a_401(ingress: Ingress) -> None:
    ingress.drain()
    assert send_whatsapp(ingress, p.whatsapp_message(), secret="wrong").status_code == 401
    assert ingress.drain() == []
