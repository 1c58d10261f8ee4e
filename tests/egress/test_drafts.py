"""Progress drafts through the real egress workers and the fake platforms (issue 21): one message per turn,
edited in place while the agent works and edited into the answer, never a second copy (on Discord, a slash
command's "thinking…" placeholder is that message)."""

from __future__ import annotations

import hashlib

import pytest

from clawbus.bus.topology import outbound_topic_name
from clawbus.schemas import OutboundReply, ReplyKind, ReplyMedia, ReplyPart, attributes, message_group_id
from tests.egress.conftest import Egress, MakeReply, wait_sent
from tests.egress.media_files import jpeg
from tests.helpers import wait_for

FLOOD = {
    "ok": False,
    "error_code": 429,
    "description": "Too Many Requests: retry after 2",
    "parameters": {"retry_after": 2},
}
THREAD = {"slack": {"thread_id": "1700000000.000100"}, "telegram": {}, "discord": {}}
EDITING = ["telegram", "slack", "discord"]


def progress(answer: OutboundReply, text: str, n: int) -> OutboundReply:
    """A progress message of the turn that `answer` answers, as the dispatcher publishes it."""
    return answer.model_copy(
        update={
            "reply_id": f"{answer.reply_id}-p{n}",
            "kind": ReplyKind.PROGRESS,
            "parts": (ReplyPart(index=0, text=text),),
            "final": False,
            "draft": answer.reply_id,
        }
    )


def republish(egress: Egress, reply: OutboundReply, dedup_id: str) -> None:
    """Publish `reply` again under another deduplication id (as if the topic's window had passed)."""
    egress.bus.client("sns").publish(
        TopicArn=egress.bus.report.topic_arns[outbound_topic_name(egress.bus.prefix)],
        Message=reply.to_wire(),
        MessageGroupId=message_group_id(reply.session_key),
        MessageDeduplicationId=dedup_id,
        MessageAttributes={
            attributes.CHANNEL: {"DataType": "String", "StringValue": reply.channel},
            attributes.KIND: {"DataType": "String", "StringValue": reply.kind.value},
        },
    )


def with_draft(answer: OutboundReply) -> OutboundReply:
    return answer.model_copy(update={"draft": answer.reply_id})


@pytest.mark.parametrize("channel", EDITING)
def test_a_draft_is_edited_through_progress_into_the_answer_and_the_user_sees_one_message(
    egress: Egress, make_reply: MakeReply, channel: str
) -> None:
    worker = egress.start(channel)
    answer = with_draft(make_reply(channel, "The answer is 42.", **THREAD[channel]))
    egress.publish(progress(answer, "working…", 0))
    egress.publish(progress(answer, "working…\n🔎 fetching example.com", 1))
    egress.publish(answer)

    wait_for(lambda: egress.queue_depth(channel) == 0, timeout=30, what="draft and answer handled")
    shown = egress.fake.shown(channel)
    assert [c.text for c in shown] == ["The answer is 42."]  # one message, holding the answer
    edits = [c for c in egress.fake.edits(channel) if not c.refused]
    assert [c.text for c in edits] == ["working…\n🔎 fetching example.com", "The answer is 42."]
    assert shown[0].body.get("text", shown[0].body.get("content")) == "working…"  # posted as the draft
    assert egress.logged(worker, "egress.draft.finalised")


def test_a_restarted_worker_edits_the_same_draft(egress: Egress, make_reply: MakeReply) -> None:
    first = egress.start("telegram", name="egress-telegram-a")
    answer = with_draft(make_reply("telegram", "done after a restart"))
    egress.publish(progress(answer, "working…", 0))
    wait_sent(egress.fake, "telegram", 1)
    wait_for(lambda: egress.logged(first, "egress.draft.opened"), timeout=20, what="draft recorded")
    assert egress.supervisor.terminate(first.name) == 0

    egress.start("telegram", name="egress-telegram-b")
    egress.publish(progress(answer, "working…\n📝 writing notes.md", 1))
    egress.publish(answer)
    wait_for(lambda: egress.queue_depth("telegram") == 0, timeout=30, what="answer handled")
    assert [c.text for c in egress.fake.shown("telegram")] == ["done after a restart"]


def test_an_answer_republished_later_is_not_shown_again_and_a_late_progress_leaves_it_alone(
    egress: Egress, make_reply: MakeReply
) -> None:
    egress.start("telegram")
    answer = with_draft(make_reply("telegram", "final words"))
    egress.publish(progress(answer, "working…", 0))
    egress.publish(answer)
    wait_for(lambda: egress.queue_depth("telegram") == 0, timeout=30, what="answer handled")
    # a re-run turn past the topic's 5-minute deduplication: its progress and answer come again
    republish(egress, progress(answer, "working…", 0), "again-p0")
    republish(egress, answer, "again")
    wait_for(lambda: egress.queue_depth("telegram") == 0, timeout=30, what="repeats handled")
    assert [c.text for c in egress.fake.shown("telegram")] == ["final words"]


# What each platform answers an edit of a message that is gone, and a rate-limited edit (and its wait).
CANT_EDIT = {"ok": False, "error_code": 400, "description": "Bad Request: message can't be edited"}
REFUSALS = {
    "telegram": (400, CANT_EDIT),
    "discord": (404, {"message": "Unknown Message", "code": 10008}),  # someone deleted the draft
}
THROTTLES = {
    "telegram": (FLOOD, 2.0),
    "discord": ({"message": "You are being rate limited.", "retry_after": 1.5, "global": False}, 1.5),
}


@pytest.mark.parametrize("channel", sorted(REFUSALS))
def test_a_draft_that_cannot_be_edited_falls_back_to_one_new_message(
    egress: Egress, make_reply: MakeReply, channel: str
) -> None:
    worker = egress.start(channel)
    answer = with_draft(make_reply(channel, "the real answer"))
    status, refusal = REFUSALS[channel]
    egress.fake.fail_next(channel, status, refusal, match="the real answer", times=1)
    egress.publish(progress(answer, "working…", 0))
    egress.publish(answer)

    wait_for(lambda: egress.queue_depth(channel) == 0, timeout=30, what="answer handled")
    assert [c.text for c in egress.fake.shown(channel)] == ["working…", "the real answer"]
    assert egress.logged(worker, "egress.draft.fallback")


@pytest.mark.parametrize("channel", sorted(THROTTLES))
def test_a_rate_limited_finalising_edit_waits_as_long_as_the_platform_asks(
    egress: Egress, make_reply: MakeReply, channel: str
) -> None:
    worker = egress.start(channel)
    answer = with_draft(make_reply(channel, "patience pays"))
    throttle, wait_s = THROTTLES[channel]
    egress.fake.fail_next(channel, 429, throttle, match="patience pays", times=1)
    egress.publish(progress(answer, "working…", 0))
    egress.publish(answer)

    wait_for(lambda: egress.queue_depth(channel) == 0, timeout=30, what="answer handled")
    assert [c.text for c in egress.fake.shown(channel)] == ["patience pays"]
    refused, accepted = egress.fake.edits(channel)
    assert refused.refused
    assert not accepted.refused
    assert accepted.at - refused.at >= wait_s
    assert egress.logged(worker, "egress.draft.throttled")


def test_progress_on_a_platform_that_cannot_edit_shows_nothing(egress: Egress, make_reply: MakeReply) -> None:
    egress.start("whatsapp")
    answer = with_draft(make_reply("whatsapp", "plain answer"))
    egress.publish(progress(answer, "working…", 0))
    egress.publish(answer)
    wait_for(lambda: egress.queue_depth("whatsapp") == 0, timeout=30, what="answer handled")
    assert [c.text for c in egress.fake.shown("whatsapp")] == ["plain answer"]


@pytest.mark.parametrize("channel", EDITING)
def test_a_turn_that_ends_silent_deletes_its_draft(
    egress: Egress, make_reply: MakeReply, channel: str
) -> None:
    worker = egress.start(channel)
    turn = with_draft(make_reply(channel, "never sent", **THREAD[channel]))
    egress.publish(progress(turn, "working…", 0))
    egress.publish(progress(turn, "", 1))  # NO_REPLY: the dispatcher clears the draft
    egress.publish(progress(turn, "working…", 2).model_copy(update={"reply_id": f"{turn.reply_id}-late"}))

    wait_for(lambda: egress.queue_depth(channel) == 0, timeout=30, what="draft handled")
    assert egress.fake.shown(channel) == []  # nothing left behind, and nothing reopened
    assert len(egress.fake.sent(channel)) == 1
    assert egress.logged(worker, "egress.draft.deleted")


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


@pytest.mark.parametrize("channel", ["telegram", "slack"])
def test_a_silent_turns_draft_whose_delete_failed_for_a_while_is_still_deleted(
    egress: Egress, make_reply: MakeReply, channel: str
) -> None:
    """Clearing a draft is the last word on it: nothing later would take "working…" away, so an outage
    on the delete is retried like an answer, not dropped like a progress edit."""
    worker = egress.start(channel)
    turn = with_draft(make_reply(channel, "never sent", **THREAD[channel]))
    outage = {"telegram": {"ok": False, "error_code": 502, "description": "Bad Gateway"}, "slack": {}}
    egress.fake.fail_next(channel, 502, outage[channel], times=2, after=1)  # opens, then fails
    egress.publish(progress(turn, "working…", 0))
    egress.publish(progress(turn, "", 1))

    wait_for(lambda: egress.queue_depth(channel) == 0, timeout=60, what="draft cleared")
    assert egress.fake.shown(channel) == []
    assert egress.logged(worker, "egress.draft.deleted")


def test_the_files_of_an_answer_that_finalises_a_draft_are_sent_after_it(
    egress: Egress, make_reply: MakeReply
) -> None:
    data = jpeg()
    key = f"media/test-session/{hashlib.sha256(data).hexdigest()}"
    egress.bus.client("s3").put_object(Bucket=f"{egress.bus.prefix}-state", Key=key, Body=data)
    chart = ReplyMedia(key=key, media_type="image/jpeg", size=len(data), name="chart.jpg")
    egress.start("telegram")
    answer = with_draft(make_reply("telegram", "Here is the chart.")).model_copy(update={"media": (chart,)})
    egress.publish(progress(answer, "working…", 0))
    egress.publish(answer)

    wait_for(lambda: len(egress.fake.shown("telegram")) >= 2, timeout=30, what="the answer and its file")
    shown = egress.fake.shown("telegram")
    assert shown[0].text == "Here is the chart."  # the draft, edited into the answer
    assert [(u.filename, u.data) for u in egress.fake.uploads("telegram")] == [("chart.jpg", data)]
