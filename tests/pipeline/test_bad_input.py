"""Bad input gets a clear answer and is never silently dropped."""

from __future__ import annotations

import json

import pytest

from clawbus.bus.topology import dlq_name, inbound_queue_name
from tests.conftest import Pipeline
from tests.helpers import eventually, wait_for
from tests.pipeline.webchat_client import post, replies


@pytest.mark.parametrize(
    ("body", "content_type", "status", "says"),
    [
        (b"{not json", "application/json", 400, "malformed JSON"),
        (b'{"conversation": "c1"}', "application/json", 422, "invalid WebChat message"),
        (b'{"conversation": "bad id!", "text": "hi"}', "application/json", 422, "invalid WebChat message"),
        (b"text=hi", "application/x-www-form-urlencoded", 415, "Content-Type: application/json"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 400, "nested too deeply"),
        (b'{"conversation": "c1", "text": "' + b"x" * 1_100_000 + b'"}', "application/json", 413, "bytes"),
    ],
)
async def test_ingress_refuses_bad_webchat_posts_with_a_4xx_that_says_why(
    shared_pipeline: Pipeline, body: bytes, content_type: str, status: int, says: str
) -> None:
    async with shared_pipeline.webchat(timeout=10) as client:
        response = await client.post(
            "/webchat/api/messages", content=body, headers={"content-type": content_type}
        )
        assert response.status_code == status
        assert says in response.json()["error"]
        health = await client.get("/healthz")
        assert health.status_code == 200  # still serving


async def test_a_webhook_for_a_channel_that_is_not_enabled_is_a_404_that_names_the_setting(
    shared_pipeline: Pipeline,
) -> None:
    async with shared_pipeline.webchat(timeout=10) as client:
        response = await client.post("/webhooks/telegram", content=b"{}")
    assert response.status_code == 404
    assert "CLAWBUS_TELEGRAM__BOT_TOKEN" in response.json()["error"]


async def test_an_envelope_of_an_unknown_schema_version_is_dead_lettered_and_the_session_goes_on(
    shared_pipeline: Pipeline,
) -> None:
    pipeline = shared_pipeline
    bus = pipeline.bus
    sqs = bus.client("sqs")
    session = "agent:main:webchat:direct:poisoned"
    future = {
        "schema_version": 99,
        "event_id": "webchat:poisoned:v99",
        "channel": "webchat",
        "session_key": session,
    }
    sqs.send_message(
        QueueUrl=bus.queue_url(inbound_queue_name(bus.prefix)),
        MessageBody=json.dumps(future),
        MessageGroupId=session,
        MessageDeduplicationId="v99",
    )
    async with pipeline.webchat(timeout=30) as client:
        await post(client, "poisoned", "still there?")

        async def answered() -> list[dict[str, object]] | None:
            return await replies(client, "poisoned") or None

        got = await eventually(answered, timeout=30, what="the later message's reply")
    assert [m["text"] for m in got] == ["(native · offline echo · turn 1) You said: still there?"]

    dlq_url = bus.queue_url(dlq_name(inbound_queue_name(bus.prefix)))

    def dead_letters() -> list[dict[str, object]]:
        return sqs.receive_message(
            QueueUrl=dlq_url, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"]
        ).get("Messages", [])

    letter = wait_for(dead_letters, timeout=10, what="the dead letter")[0]
    attrs = {k: v["StringValue"] for k, v in letter["MessageAttributes"].items()}  # type: ignore[attr-defined]
    assert json.loads(letter["Body"]) == future  # type: ignore[arg-type]
    assert attrs["clawbus.error.type"] == "UnsupportedSchemaVersion"
    assert attrs["clawbus.error.stage"] == "dispatcher"
    assert "schema_version 99" in attrs["clawbus.error.reason"]
    assert attrs["clawbus.source_queue"] == inbound_queue_name(bus.prefix)
    assert letter["Attributes"]["MessageGroupId"] == session  # type: ignore[index]  # replay keeps the session
