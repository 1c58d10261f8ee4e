"""Egress workers under platform failures: 429s honoured with nothing dropped or reordered, a worker
killed between send and delete posts nothing twice, permanent errors dead-letter with a reason and the
session's later replies still go out."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from clawbus.bus.topology import egress_queue_name
from clawbus.schemas import attributes
from tests.egress.conftest import Egress, MakeReply, wait_sent
from tests.helpers import wait_for

# About 3 Telegram messages' worth of numbered paragraphs.
THREE_CHUNKS = "\n\n".join(f"paragraph {n:02d} " + "words " * 100 for n in range(20))


def _numbers(texts: list[str]) -> list[str]:
    return [word for text in texts for word in text.split() if word.isdigit()]


def test_a_short_telegram_429_is_waited_out_and_nothing_is_dropped_or_reordered(
    egress: Egress, make_reply: MakeReply
) -> None:
    worker = egress.start("telegram")
    flood = {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 2",
        "parameters": {"retry_after": 2},
    }
    egress.fake.fail_next("telegram", 429, flood, after=1)  # the second chunk is refused once
    egress.publish(make_reply("telegram", THREE_CHUNKS))
    egress.publish(make_reply("telegram", "after 99", session="agent:main:telegram:direct:777"))

    wait_for(lambda: any("after" in c.text for c in egress.fake.sent("telegram")), timeout=30)
    sent = egress.fake.sent("telegram")
    assert _numbers([c.text for c in sent]) == [f"{n:02d}" for n in range(20)] + ["99"]
    refused = [c for c in egress.fake.attempts("telegram") if c.refused]
    assert len(refused) == 1
    retried = sent[1]
    assert retried.at - refused[0].at >= 2.0  # waited as long as Telegram asked
    assert egress.logged(worker, "egress.send.throttled")


def test_a_long_slack_rate_limit_gives_the_reply_back_and_sent_chunks_are_not_sent_again(
    egress: Egress, make_reply: MakeReply
) -> None:
    worker = egress.start("slack", max_inline_wait_s="1")
    egress.fake.fail_next("slack", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "3"}, after=1)
    reply = make_reply("slack", THREE_CHUNKS, thread_id="1700000000.000100")
    egress.publish(reply)

    wait_for(lambda: egress.queue_depth("slack") == 0, timeout=45, what="reply delivered and deleted")
    sent = egress.fake.sent("slack")
    assert _numbers([c.text for c in sent]) == [f"{n:02d}" for n in range(20)]
    assert len({c.text for c in sent}) == len(sent)  # the first chunk went out once
    assert all(c.body["thread_ts"] == "1700000000.000100" for c in sent)
    refused = next(c for c in egress.fake.attempts("slack") if c.refused)
    assert sent[1].at - refused.at >= 3.0
    assert egress.logged(worker, "egress.slack.message.retry_later")


@pytest.mark.chaos
def test_a_worker_killed_after_sending_and_before_deleting_does_not_post_twice(
    egress: Egress, make_reply: MakeReply
) -> None:
    sqs = egress.bus.client("sqs")
    queue = egress.bus.queue_url(egress_queue_name(egress.bus.prefix, "telegram"))
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": "3"})
    doomed = egress.start(
        "telegram", name="egress-doomed", test_pause_before_delete_s="60", visibility_timeout_s="3"
    )
    egress.publish(make_reply("telegram", THREE_CHUNKS))
    wait_for(lambda: egress.logged(doomed, "egress.test.pausing_before_delete"), timeout=30)
    count = len(egress.fake.sent("telegram"))
    assert count >= 3
    assert doomed.process is not None
    doomed.process.send_signal(signal.SIGKILL)
    doomed.process.wait(timeout=10)
    assert egress.queue_depth("telegram") == 1  # not deleted: SQS will deliver it again

    fresh = egress.start("telegram", name="egress-fresh")
    wait_for(lambda: egress.queue_depth("telegram") == 0, timeout=30, what="redelivered reply deleted")
    assert egress.logged(fresh, "egress.chunk.skipped")
    assert len(egress.fake.sent("telegram")) == count
    assert egress.dead_letters("telegram") == []


PERMANENT: dict[str, tuple[int, dict[str, Any], str]] = {
    "telegram": (
        403,
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
        "bot was blocked by the user",
    ),
    "slack": (200, {"ok": False, "error": "channel_not_found"}, "channel_not_found"),
    "discord": (403, {"message": "Cannot send messages to this user", "code": 50007}, "Cannot send messages"),
    "whatsapp": (
        400,
        {"error": {"message": "Re-engagement message", "type": "OAuthException", "code": 131047}},
        "24 hours",
    ),
}


@pytest.mark.parametrize("channel", list(PERMANENT))
def test_a_permanent_error_dead_letters_with_the_reason_and_later_replies_still_go_out(
    egress: Egress, make_reply: MakeReply, channel: str
) -> None:
    status, body, reason = PERMANENT[channel]
    egress.start(channel)
    egress.fake.fail_next(channel, status, body)
    doomed = make_reply(channel, "you will not see this")
    later = make_reply(channel, "but you will see this", session=doomed.session_key)
    egress.publish(doomed)
    egress.publish(later)

    wait_sent(egress.fake, channel, 1)
    assert [c.text for c in egress.fake.sent(channel)] == ["but you will see this"]
    dead = wait_for(lambda: egress.dead_letters(channel), timeout=20, what=f"{channel} dead letter")
    assert dead[0]["body"]["reply_id"] == doomed.reply_id
    assert reason in dead[0][attributes.ERROR_REASON]
    assert dead[0][attributes.ERROR_STAGE] == f"egress.{channel}"
    assert len(egress.fake.attempts(channel)) == 2  # a permanent error is not retried


def test_a_platform_outage_is_retried_until_the_reply_goes_out(egress: Egress, make_reply: MakeReply) -> None:
    egress.start("discord")
    egress.fake.fail_next("discord", 502, {"message": "Bad Gateway"}, times=2)
    egress.publish(make_reply("discord", "eventually"))
    wait_sent(egress.fake, "discord", 1)
    assert [c.text for c in egress.fake.sent("discord")] == ["eventually"]
    assert len(egress.fake.attempts("discord")) == 3
    assert egress.dead_letters("discord") == []


def test_a_spent_discord_bucket_is_waited_out_before_the_next_message(
    egress: Egress, make_reply: MakeReply
) -> None:
    egress.start("discord")
    spent = {"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "2.5"}
    egress.fake.add_headers_next("discord", spent)
    first = make_reply("discord", "one")
    egress.publish(first)
    egress.publish(make_reply("discord", "two", session=first.session_key))
    wait_sent(egress.fake, "discord", 2)
    one, two = egress.fake.sent("discord")
    assert [one.text, two.text] == ["one", "two"]
    assert two.at - one.at >= 2.4  # the bucket's reset, not the 1 s/5 s pacing
    assert len(egress.fake.attempts("discord")) == 2  # no 429 collected on the way
