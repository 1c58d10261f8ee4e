"""Discord progress drafts through the real egress worker and the fake Discord API (issue 21): a slash
command's "thinking…" placeholder becomes the draft and then the answer; Discord's 429 on an edit is
waited out as long as it asks; an edit Discord refuses falls back to one new message."""

from __future__ import annotations

from tests.egress.conftest import Egress, MakeReply
from tests.egress.test_drafts import progress, with_draft
from tests.helpers import wait_for

SLOW_DOWN = {"message": "You are being rate limited.", "retry_after": 1.5, "global": False}


def test_a_slash_commands_placeholder_becomes_the_draft_and_then_the_answer(
    egress: Egress, make_reply: MakeReply
) -> None:
    egress.start("discord")
    answer = with_draft(make_reply("discord", "pong, at last", interaction_token="tok-draft"))
    egress.publish(progress(answer, "working…", 0))
    egress.publish(progress(answer, "working…\n🔎 fetching example.com", 1))
    egress.publish(answer)

    wait_for(lambda: egress.queue_depth("discord") == 0, timeout=30, what="draft and answer handled")
    shown = egress.fake.shown("discord")
    assert [(c.method, c.text) for c in shown] == [("original", "pong, at last")]  # "thinking…" became it
    edits = [c for c in egress.fake.edits("discord") if not c.refused]
    assert [c.text for c in edits] == ["working…\n🔎 fetching example.com", "pong, at last"]
    assert egress.fake.sent("discord") == shown  # no follow-up, no channel message


def test_a_rate_limited_finalising_edit_waits_as_long_as_discord_asks(
    egress: Egress, make_reply: MakeReply
) -> None:
    worker = egress.start("discord")
    answer = with_draft(make_reply("discord", "worth the wait"))
    egress.fake.fail_next("discord", 429, SLOW_DOWN, match="worth the wait", times=1)
    egress.publish(progress(answer, "working…", 0))
    egress.publish(answer)

    wait_for(lambda: egress.queue_depth("discord") == 0, timeout=30, what="answer handled")
    assert [c.text for c in egress.fake.shown("discord")] == ["worth the wait"]
    refused, accepted = egress.fake.edits("discord")
    assert refused.refused
    assert not accepted.refused
    assert accepted.at - refused.at >= 1.5
    assert egress.logged(worker, "egress.draft.throttled")


def test_a_draft_discord_will_not_edit_falls_back_to_one_new_message(
    egress: Egress, make_reply: MakeReply
) -> None:
    worker = egress.start("discord")
    answer = with_draft(make_reply("discord", "said anew"))
    unknown = {"message": "Unknown Message", "code": 10008}  # someone deleted the draft meanwhile
    egress.fake.fail_next("discord", 404, unknown, match="said anew", times=1)
    egress.publish(progress(answer, "working…", 0))
    egress.publish(answer)

    wait_for(lambda: egress.queue_depth("discord") == 0, timeout=30, what="answer handled")
    assert [c.text for c in egress.fake.shown("discord")] == ["working…", "said anew"]
    assert egress.logged(worker, "egress.draft.fallback")
