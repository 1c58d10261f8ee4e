"""A worker killed between the platform's 200 and the receipt write: what the user sees afterwards.

The fake platform accepts the chunk (the message exists) and holds its answer; the test kills -9 the
worker meanwhile, so the 200 never reaches it — the real failure. A fresh worker gets the reply again
when its visibility timeout ends and reconciles the interrupted send: Slack finds the message by the
nonce in its metadata, Discord's `enforce_nonce` answers the repeat with the existing message, and the
first chunk of a Discord interaction's answer is an edit of its placeholder (made again, it shows once),
so the user sees the chunk once; Telegram and WhatsApp cannot tell, so the chunk is posted again with a
WARNING (a doubled chunk beats a lost one; docs/reliability.md).
"""

from __future__ import annotations

import signal
from typing import Any

import pytest

from clawbus.bus.topology import egress_queue_name
from tests.egress.conftest import Egress, MakeReply
from tests.helpers import wait_for

CASES: dict[str, tuple[str, dict[str, Any], int]] = {
    # case: (channel, reply target extras, messages the user ends up seeing)
    "slack": ("slack", {"chat": "D777"}, 1),  # a DM: bot tokens may read its history and threads
    "slack-thread": ("slack", {"chat": "D777", "thread_id": "1733349600.000100"}, 1),
    "discord": ("discord", {}, 1),
    "discord-interaction": ("discord", {"interaction_token": "tok-1"}, 1),
    "telegram": ("telegram", {}, 2),
    "whatsapp": ("whatsapp", {}, 2),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_worker_killed_after_the_platform_accepted_a_chunk_reconciles_before_sending_again(
    egress: Egress, make_reply: MakeReply, case: str
) -> None:
    channel, target, seen = CASES[case]
    sqs = egress.bus.client("sqs")
    queue = egress.bus.queue_url(egress_queue_name(egress.bus.prefix, channel))
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": "3"})
    egress.fake.hold_next(channel)
    doomed = egress.start(channel, name="egress-doomed", visibility_timeout_s="3")
    egress.publish(make_reply(channel, "the only chunk", **target))
    wait_for(lambda: len(egress.fake.shown(channel)) == 1, timeout=30, what="the chunk on the platform")
    assert doomed.process is not None
    doomed.process.send_signal(signal.SIGKILL)  # its 200 is still held: it never learns the message id
    doomed.process.wait(timeout=10)
    egress.fake.release_held()

    fresh = egress.start(channel, name="egress-fresh", visibility_timeout_s="3")
    wait_for(lambda: egress.queue_depth(channel) == 0, timeout=60, what="redelivered reply deleted")

    shown = egress.fake.shown(channel)
    assert [c.text for c in shown] == ["the only chunk"] * seen
    assert egress.logged(fresh, "egress.send.reconciled")
    assert egress.logged(fresh, "egress.send.unknown_resent") is (seen > 1)
    assert egress.dead_letters(channel) == []


def test_a_slack_post_that_timed_out_after_slack_accepted_it_is_found_not_posted_again(
    egress: Egress, make_reply: MakeReply
) -> None:
    egress.fake.slow_next("slack", 3.0)  # accepted at once, answered after the client gave up
    worker = egress.start("slack", request_timeout_s="1")
    egress.publish(make_reply("slack", "slow but there", chat="D777"))
    wait_for(lambda: egress.queue_depth("slack") == 0, timeout=30, what="reply deleted")
    assert [c.text for c in egress.fake.shown("slack")] == ["slow but there"]
    assert egress.logged(worker, "egress.send.found_after_timeout")


def test_when_the_check_after_a_timeout_also_times_out_the_next_delivery_asks_at_once(
    egress: Egress, make_reply: MakeReply
) -> None:
    """The post timed out and so did the history read that would have found it (a loaded machine, a
    slow Slack). The worker keeps its intent but ends its own lease, so the reply's next delivery (a
    2 s backoff) asks Slack again and finds the message, instead of waiting out the 60 s lease (which
    a test waiting 30 s saw, under load, before). The user sees the message once."""
    egress.fake.slow_next("slack", 3.0)
    egress.fake.slow_next_read(3.0)
    worker = egress.start("slack", request_timeout_s="1")
    egress.publish(make_reply("slack", "slow, and slow to find", chat="D777"))
    wait_for(lambda: egress.queue_depth("slack") == 0, timeout=30, what="reply deleted")
    assert [c.text for c in egress.fake.shown("slack")] == ["slow, and slow to find"]
    assert egress.logged(worker, "egress.slack.message.retry_later")  # the first delivery gave it back
    assert egress.logged(worker, "egress.send.reconciled")  # the second asked, and found it
    assert not egress.logged(worker, "egress.send.unknown_resent")
