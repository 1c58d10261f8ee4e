"""The Lambda adapter over the same webhooks, and the durable dedup record beyond SQS's 5 minutes: kept for
slash commands (they may act outside a turn); an ordinary message's late retry is the turn ledger's to
drop (tests/dispatcher/test_answered_once.py)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from clawbus.bus.clients import IngressClients, open_stage_clients
from clawbus.bus.queues import FifoMessage
from clawbus.bus.settings import Settings
from clawbus.bus.topology import inbound_queue_name, ledger_table_name, pairing_table_name
from clawbus.channels.slack import inbound as slack
from clawbus.channels.slack.inbound import signed_headers as slack_headers
from clawbus.ingress.core import Parsed
from clawbus.ingress.dedup_store import Claim, DynamoDedupStore
from clawbus.ingress.intake import Intake
from clawbus.ingress.lambda_handler import LambdaApp
from clawbus.ingress.pairing_store import DynamoPairingStore
from clawbus.ingress.publisher import InboundPublisher
from clawbus.schemas import deduplication_id
from tests.conftest import Bus
from tests.ingress import payloads as p

SECRET = "slack-signing-secret"


def settings_for(bus: Bus, **extra: Any) -> Settings:
    return Settings(
        aws={"endpoint_url": bus.endpoint, "region": "us-east-1"},
        bus={"prefix": bus.prefix},
        slack={"bot_token": "xoxb-test", "signing_secret": SECRET, "dm_policy": "open"},
        **extra,
    )


def api_gateway_v2_event(
    path: str, body: bytes, headers: dict[str, str], *, base64_body: bool
) -> dict[str, Any]:
    """An API Gateway HTTP API payload-format-2.0 event, as Lambda receives it."""
    return {
        "version": "2.0",
        "routeKey": f"POST {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            **headers,
            "host": "abc123.execute-api.us-east-1.amazonaws.com",
            "content-length": str(len(body)),
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": "POST",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "3.3.3.3",
                "userAgent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": f"POST {path}",
            "stage": "$default",
            "time": "05/Jan/2026:12:00:00 +0000",
            "timeEpoch": 1767614400000,
        },
        "body": base64.b64encode(body).decode() if base64_body else body.decode(),
        "isBase64Encoded": base64_body,
    }


def test_the_lambda_adapter_enqueues_a_signed_slack_dm_once_and_refuses_a_forged_one(bus: Bus) -> None:
    app = LambdaApp(settings_for(bus))
    try:
        body = json.dumps(p.slack_event(text="from lambda")).encode()
        headers = slack_headers(SECRET, body, int(time.time()))
        first = app(api_gateway_v2_event("/webhooks/slack/events", body, headers, base64_body=True))
        again = app(api_gateway_v2_event("/webhooks/slack/events", body, headers, base64_body=False))
        forged = app(
            api_gateway_v2_event(
                "/webhooks/slack/events",
                body,
                slack_headers("nope", body, int(time.time())),
                base64_body=False,
            )
        )
        challenge = json.dumps({"type": "url_verification", "challenge": "abc"}).encode()
        verified = app(
            api_gateway_v2_event(
                "/webhooks/slack/events",
                challenge,
                slack_headers(SECRET, challenge, int(time.time())),
                base64_body=False,
            )
        )
    finally:
        app.close()
    assert [r["statusCode"] for r in (first, again, forged, verified)] == [200, 200, 401, 200]
    assert forged["headers"]["x-slack-no-retry"] == "1"  # HTTP header names are case-insensitive
    assert json.loads(verified["body"]) == {"challenge": "abc"}
    sqs = bus.client("sqs")
    messages = sqs.receive_message(
        QueueUrl=bus.queue_url(inbound_queue_name(bus.prefix)), MaxNumberOfMessages=10
    ).get("Messages", [])
    bodies = [json.loads(m["Body"]) for m in messages]
    assert [b["text"] for b in bodies if not b.get("control")] == ["from lambda"]
    assert [b["control"] for b in bodies if b.get("control")] == ["steer"]  # its mid-turn copy, once


class RecordingQueue:
    """A queue sender that keeps what was sent (SQS itself would hide the durable record's effect)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, body: str, *, group_id: str, dedup_id: str, attributes: dict[str, str]) -> str:
        self.sent.append(dedup_id)
        return f"m{len(self.sent)}"

    async def send_many(self, messages: Sequence[FifoMessage]) -> list[str]:
        return [
            await self.send(m.body, group_id=m.group_id, dedup_id=m.dedup_id, attributes=dict(m.attributes))
            for m in messages
        ]


class NoReplies:
    async def publish(self, body: str, *, group_id: str, dedup_id: str, attributes: dict[str, str]) -> None:
        raise AssertionError("no pairing reply expected")


def recording_intake(
    settings: Settings, clients: IngressClients, queue: RecordingQueue, clock: Callable[[], datetime]
) -> Intake:
    """An intake on the loopback tables that enqueues into `queue`, at `clock`'s time."""
    return Intake(
        settings,
        publisher=InboundPublisher(queue),
        replies=NoReplies(),
        dedup=DynamoDedupStore(
            clients.dynamodb, ledger_table_name(settings.bus.prefix), settings.ingress.dedup_ttl_s
        ),
        pairing=DynamoPairingStore(clients.dynamodb, pairing_table_name(settings.bus.prefix)),
        clock=clock,
    )


async def test_a_commands_platform_retry_hours_later_is_dropped_but_one_after_the_record_expired_is_not(
    bus: Bus,
) -> None:
    settings = settings_for(bus)
    queue = RecordingQueue()
    now = [datetime(2026, 1, 5, 12, 0, tzinfo=UTC)]
    async with open_stage_clients(settings, IngressClients) as clients:
        intake = recording_intake(settings, clients, queue, lambda: now[0])
        body = p.slack_event(text="/new once")

        async def deliver() -> None:
            parsed: Parsed = slack.normalise(body, ctx=intake.context())
            await intake.accept("slack", parsed)

        await deliver()
        now[0] += timedelta(hours=6)  # Slack's last retry, long after SQS's 5-minute window
        await deliver()
        now[0] += timedelta(days=7)  # still inside the record's TTL (8 days by default)
        await deliver()
        assert len(queue.sent) == 1
        now[0] += timedelta(days=2)  # expired: the loopback API never deletes it, the claim checks
        await deliver()
        assert len(queue.sent) == 2
    record = bus.client("dynamodb").get_item(
        TableName=ledger_table_name(bus.prefix),
        Key={"pk": {"S": f"in:slack:T0TEAM:D0DM:{body['event']['ts']}"}},
    )["Item"]
    assert record["state"]["S"] == "done"
    assert int(record["expires_at"]["N"]) - int(now[0].timestamp()) >= 7 * 24 * 3600


async def test_a_retry_of_an_event_whose_first_request_died_mid_enqueue_is_enqueued_at_once(bus: Bus) -> None:
    """The first request claimed the event and died (kill -9 between claim and enqueue, or between the
    enqueue and marking it done): its claim stays pending. The platform's retry must not wait for that
    claim's lease (every Telegram polling chat waited 30-60 s behind one such update): it enqueues the
    event now, under the same deduplication id, and marks it done."""
    settings = settings_for(bus)
    queue = RecordingQueue()
    now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    async with open_stage_clients(settings, IngressClients) as clients:
        table = ledger_table_name(bus.prefix)
        dedup = DynamoDedupStore(clients.dynamodb, table, settings.ingress.dedup_ttl_s)
        intake = Intake(
            settings,
            publisher=InboundPublisher(queue),
            replies=NoReplies(),
            dedup=dedup,
            pairing=DynamoPairingStore(clients.dynamodb, pairing_table_name(bus.prefix)),
            clock=lambda: now,
        )
        body = p.slack_event(text="/reset after a crash")
        key = f"in:slack:T0TEAM:D0DM:{body['event']['ts']}"
        assert await dedup.claim(key, now) is Claim.CLAIMED  # the request that then died

        await intake.accept("slack", slack.normalise(body, ctx=intake.context()))
        await intake.accept("slack", slack.normalise(body, ctx=intake.context()))  # and a later retry

    assert queue.sent == [deduplication_id(key.removeprefix("in:"))]
    record = bus.client("dynamodb").get_item(TableName=ledger_table_name(bus.prefix), Key={"pk": {"S": key}})
    assert record["Item"]["state"]["S"] == "done"


async def test_an_ordinary_message_is_enqueued_without_a_claim_and_its_retry_under_the_same_dedup_id(
    bus: Bus,
) -> None:
    """Two AWS calls on the acknowledgement path, not four: no claim and no completion for a message
    that is not a command. A retry is sent again under the event's deduplication id (SQS drops it
    within 5 minutes; the dispatcher's turn ledger answers a later one from its record)."""
    settings = settings_for(bus)
    queue = RecordingQueue()
    now = [datetime(2026, 1, 5, 12, 0, tzinfo=UTC)]
    requests: dict[str, int] = {}
    async with open_stage_clients(settings, IngressClients, requests) as clients:
        intake = recording_intake(settings, clients, queue, lambda: now[0])
        body = p.slack_event(text="book the room")
        await intake.accept("slack", slack.normalise(body, ctx=intake.context()))
        assert requests["dynamodb"] == 1  # the pairing read; the enqueue is the recording queue here
        now[0] += timedelta(hours=6)
        await intake.accept("slack", slack.normalise(body, ctx=intake.context()))
    key = f"slack:T0TEAM:D0DM:{body['event']['ts']}"
    assert queue.sent == [deduplication_id(key)] * 2
    stored = bus.client("dynamodb").get_item(
        TableName=ledger_table_name(bus.prefix), Key={"pk": {"S": f"in:{key}"}}
    )
    assert "Item" not in stored
