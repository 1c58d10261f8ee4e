"""Egress as a Lambda handler: a real SQS event from the loopback API in, a partial batch response out."""

from __future__ import annotations

from typing import Any

from clawbus.bus.settings import AwsSettings, BusSettings, Settings, TelegramSettings
from clawbus.bus.topology import egress_queue_name
from clawbus.egress.lambda_handler import handle_event
from tests.conftest import REGION, Bus
from tests.egress.conftest import Egress, MakeReply


def _sqs_event(bus: Bus, channel: str, expect: int) -> dict[str, Any]:
    """Receive `expect` messages and shape them as Lambda's SQS event source delivers them."""
    name = egress_queue_name(bus.prefix, channel)
    url = bus.queue_url(name)
    sqs = bus.client("sqs")
    messages: list[dict[str, Any]] = []
    for _ in range(5):
        messages += sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=1,
        ).get("Messages", [])
        if len(messages) >= expect:
            break
    assert len(messages) == expect
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m["Attributes"],
                "messageAttributes": {
                    k: {"stringValue": v["StringValue"], "dataType": v["DataType"]}
                    for k, v in m.get("MessageAttributes", {}).items()
                },
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


async def test_one_bad_record_fails_only_itself_and_the_rest_of_its_session(
    egress: Egress, make_reply: MakeReply
) -> None:
    fake = egress.fake
    blocked = make_reply("telegram", "blocked", chat="1")
    after_blocked = make_reply("telegram", "after blocked", chat="1")
    outage = make_reply("telegram", "outage", chat="2")
    after_outage = make_reply("telegram", "after outage", chat="2")
    for reply in (blocked, after_blocked, outage, after_outage):
        egress.publish(reply)
    event = _sqs_event(egress.bus, "telegram", 4)
    ids = {r["messageId"]: r["body"] for r in event["Records"]}
    forbidden = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
    # Sessions are sent concurrently: each cue names its message ("blocked" goes before "after blocked").
    fake.fail_next("telegram", 403, forbidden, match="blocked")
    # "outage" fails every in-process attempt; the worker's retries cannot get it through.
    fake.fail_next("telegram", 502, {"ok": False, "description": "Bad Gateway"}, times=10, match="outage")

    settings = Settings(
        aws=AwsSettings(endpoint_url=egress.bus.endpoint, region=REGION),
        bus=BusSettings(prefix=egress.bus.prefix),
        telegram=TelegramSettings(bot_token="1:fake", api_base=fake.api_base("telegram")),  # type: ignore[arg-type]
    )
    response = await handle_event(event, settings)

    failed = [ids[item["itemIdentifier"]] for item in response["batchItemFailures"]]
    assert [outage.reply_id in body for body in failed] == [True, False]
    assert after_outage.reply_id in failed[1]
    assert [c.text for c in fake.sent("telegram")] == ["after blocked"]
    dead = egress.dead_letters("telegram")
    assert [d["body"]["reply_id"] for d in dead] == [blocked.reply_id]
    assert "blocked by the user" in dead[0]["clawbus.error.reason"]


async def test_a_transient_failure_is_retried_within_the_invocation_as_the_worker_does(
    egress: Egress, make_reply: MakeReply
) -> None:
    """The Lambda runs the long-running worker's consumer: a one-off 502 is retried in process, so the
    reply and the session's next one go out in this invocation, and nothing is reported failed."""
    fake = egress.fake
    first = make_reply("telegram", "first", chat="3")
    second = make_reply("telegram", "second", chat="3")
    for reply in (first, second):
        egress.publish(reply)
    event = _sqs_event(egress.bus, "telegram", 2)
    fake.fail_next("telegram", 502, {"ok": False, "description": "Bad Gateway"})

    settings = Settings(
        aws=AwsSettings(endpoint_url=egress.bus.endpoint, region=REGION),
        bus=BusSettings(prefix=egress.bus.prefix),
        telegram=TelegramSettings(bot_token="1:fake", api_base=fake.api_base("telegram")),  # type: ignore[arg-type]
    )
    response = await handle_event(event, settings)

    assert response == {"batchItemFailures": []}
    assert [c.text for c in fake.sent("telegram")] == ["first", "second"]
    assert egress.dead_letters("telegram") == []
