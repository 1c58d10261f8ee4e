"""Retries do not nest: one chunk a platform keeps refusing is posted at most `PLATFORM_POST.attempts`
times per receive, for `DLQ_MAX_RECEIVE_COUNT` receives, then dead-lettered (docs/reliability.md)."""

from __future__ import annotations

from clawbus.bus.settings import AwsSettings, BusSettings, Settings, TelegramSettings
from clawbus.bus.topology import DLQ_MAX_RECEIVE_COUNT
from clawbus.egress.chunked_sender import PLATFORM_POST
from clawbus.egress.lambda_handler import handle_event
from tests.conftest import REGION
from tests.egress.conftest import Egress, MakeReply
from tests.egress.test_lambda_handler import _sqs_event


async def test_a_chunk_the_platform_always_throttles_is_posted_25_times_then_dead_lettered(
    egress: Egress, make_reply: MakeReply
) -> None:
    fake = egress.fake
    reply = make_reply("telegram", "never gets through", chat="9")
    egress.publish(reply)
    event = _sqs_event(egress.bus, "telegram", 1)
    flood = {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    fake.fail_next("telegram", 429, flood, times=1000)
    settings = Settings(
        aws=AwsSettings(endpoint_url=egress.bus.endpoint, region=REGION),
        bus=BusSettings(prefix=egress.bus.prefix),
        telegram=TelegramSettings(bot_token="1:fake", api_base=fake.api_base("telegram")),  # type: ignore[arg-type]
    )

    failures: list[int] = []
    for receive in range(1, DLQ_MAX_RECEIVE_COUNT + 1):  # SQS's redrive: the one outer loop
        event["Records"][0]["attributes"]["ApproximateReceiveCount"] = str(receive)
        failures.append(len((await handle_event(event, settings))["batchItemFailures"]))

    assert len(fake.attempts("telegram")) == PLATFORM_POST.attempts * DLQ_MAX_RECEIVE_COUNT == 25
    assert failures == [1, 1, 1, 1, 0]  # given back four times, dead-lettered on the fifth receive
    assert fake.sent("telegram") == []
    assert [d["body"]["reply_id"] for d in egress.dead_letters("telegram")] == [reply.reply_id]
