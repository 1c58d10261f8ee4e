"""What a user sees when the dispatcher gives their turn up (`dispatcher/core/failure_notice.py`): one
short error reply where the answer would have gone, only in a DM or a conversation that addressed the
bot, with a reason class and nothing of the error's own text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from clawbus.bus.errors import (
    AgentRejected,
    ClawbusError,
    DeadlineExceeded,
    RetryableError,
    TargetGone,
    Throttled,
    Unavailable,
)
from clawbus.dispatcher.core import Route, destination
from clawbus.dispatcher.core.failure_notice import (
    cooldown_key,
    failure_notice,
    reason_class,
    unplanned_notices,
)
from clawbus.schemas import EventKind, Handoff, InboundEvent, Peer, PeerKind, ReplyTarget, reply_id

SECRET_DETAIL = "InvokeAgentRuntime: agent turn failed: KeyError: sk-live-123 at /srv/agent.py line 9"


def _event(peer: PeerKind = PeerKind.DIRECT, addressed: bool | None = None, **extra: object) -> InboundEvent:
    return InboundEvent.model_validate(
        {
            "event_id": "telegram:bot:1",
            "channel": "telegram",
            "session_key": "agent:main:telegram:group:-100",
            "peer": Peer(kind=peer, id="-100" if peer is not PeerKind.DIRECT else "42"),
            "text": "hello",
            "reply_to": ReplyTarget(chat_id="-100", thread_id="7", reply_to_message_id="55"),
            "received_at": datetime(2026, 12, 5, tzinfo=UTC),
            "addressed": addressed,
            **extra,
        }
    )


def _notice(event: InboundEvent, error: ClawbusError, *, draft: bool = False) -> object:
    return failure_notice([event], "r-1", destination(event, None), error, draft=draft)


def test_a_dm_gets_one_short_reply_in_its_own_chat_keyed_apart_from_the_answer() -> None:
    event = _event()
    notice = failure_notice(
        [event], "r-1", destination(event, None), AgentRejected(SECRET_DETAIL), draft=True
    )

    assert notice is not None
    assert notice.reply_id == "r-1-failed"  # not the answer's id: a replay after the fix still answers
    assert notice.draft == "r-1"  # egress edits the turn's draft into it
    assert (notice.channel, notice.target) == ("telegram", event.reply_to)
    assert notice.text == (
        "⚠️ Sorry, I could not answer that: the agent could not handle this message. Please try again later."
    )
    assert "sk-live" not in notice.text
    assert "agent.py" not in notice.text


def test_the_same_failure_gives_the_same_notice() -> None:
    event = _event()
    assert _notice(event, Unavailable("a")) == _notice(event, Unavailable("b: other text"))


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (DeadlineExceeded("read timeout"), "the agent timed out"),
        (Throttled("429"), "the agent is busy right now"),
        (Unavailable("InvokeAgentRuntime: InternalServerException (500)"), "the agent is unreachable"),
        (TargetGone("runtime not found"), "the agent is unreachable"),
        (AgentRejected("400"), "the agent could not handle this message"),
        (RetryableError("KeyError"), "something went wrong"),
    ],
)
def test_the_reason_is_a_class_never_the_errors_text(error: ClawbusError, reason: str) -> None:
    assert reason_class(error) == reason


def test_a_group_message_that_addressed_the_bot_gets_the_notice_in_its_thread() -> None:
    event = _event(PeerKind.GROUP, addressed=True)
    notice = failure_notice([event], "r-1", destination(event, None), Unavailable("x"), draft=False)
    assert notice is not None
    assert notice.target == ReplyTarget(chat_id="-100", thread_id="7", reply_to_message_id="55")
    assert notice.draft is None


@pytest.mark.parametrize("addressed", [False, None])  # None: an older producer, no stamp
def test_a_group_message_not_addressed_to_the_bot_gets_none(addressed: bool | None) -> None:
    event = _event(PeerKind.GROUP, addressed=addressed)
    assert failure_notice([event], "r-1", destination(event, None), Unavailable("x"), draft=False) is None


def test_a_scheduled_turn_or_one_without_a_destination_tells_nobody() -> None:
    cron = _event(kind=EventKind.CRON, delivery=Handoff(channel="telegram", to="42"))
    assert failure_notice([cron], "r-1", destination(cron, None), Unavailable("x"), draft=False) is None
    assert failure_notice([_event()], "r-1", None, Unavailable("x"), draft=False) is None


def test_once_counts_per_conversation_and_reason() -> None:
    event = _event()
    route = Route("telegram", "default", ReplyTarget(chat_id="42"))
    elsewhere = Route("telegram", "default", ReplyTarget(chat_id="43"))
    first = failure_notice([event], "r-1", route, Unavailable("x"), draft=False)
    second = failure_notice([event], "r-2", route, TargetGone("y"), draft=False)
    other = failure_notice([event], "r-3", elsewhere, Unavailable("x"), draft=False)
    assert first is not None
    assert second is not None
    assert other is not None
    assert cooldown_key(first, Unavailable("x")) == cooldown_key(second, TargetGone("y"))  # same class
    assert cooldown_key(first, Unavailable("x")) != cooldown_key(first, DeadlineExceeded("z"))
    assert cooldown_key(first, Unavailable("x")) != cooldown_key(other, Unavailable("x"))


def test_messages_given_up_unplanned_tell_each_chat_they_came_from_once() -> None:
    """One session across two chats (dmScope main: a Telegram DM and a Slack DM), three messages, no
    turn planned: each chat gets one notice answering its latest message; the heartbeat in the unit and a
    group message that did not address the bot get none."""

    def message(n: int, channel: str, chat: str, **extra: object) -> InboundEvent:
        return _event(
            event_id=f"{channel}:bot:{n}",
            channel=channel,
            session_key="agent:main:main",
            reply_to=ReplyTarget(chat_id=chat, reply_to_message_id=str(n)),
            **extra,
        )

    events = [
        message(1, "telegram", "42"),
        message(2, "slack", "D1"),
        message(3, "telegram", "42"),
        message(4, "telegram", "-100", peer=PeerKind.GROUP, addressed=False),
        _event(event_id="heartbeat:main:t", kind=EventKind.HEARTBEAT, channel="heartbeat"),
    ]
    notices = unplanned_notices(events, Unavailable("ledger"))
    told = [(n.channel, n.target.chat_id, n.target.reply_to_message_id, n.in_reply_to) for n in notices]
    assert told == [
        ("telegram", "42", "3", ("telegram:bot:1", "telegram:bot:3")),
        ("slack", "D1", "2", ("slack:bot:2",)),
    ]
    assert notices[0].reply_id == f"{reply_id(['telegram:bot:1', 'telegram:bot:3'])}-failed"
