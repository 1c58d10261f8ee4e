"""Telegram webhook updates: the right turns and session keys, or a typed error."""

from __future__ import annotations

from typing import Any

import pytest

from clawbus.bus.errors import InvalidEnvelope, Unauthorized
from clawbus.channels.telegram import inbound as telegram
from clawbus.ingress.core import Context
from clawbus.schemas import DmScope
from tests.channels.common import NOW, only_turn, tg
from tests.ingress import payloads as p


def test_a_telegram_dm_is_a_turn_in_the_senders_session() -> None:
    update = p.telegram_message(user_id=42, chat_id=42, text="hi there")
    event, mentioned = only_turn(tg(update))
    assert event.event_id == f"telegram:{p.BOT_ID}:{update['update_id']}"
    assert event.session_key == "agent:main:telegram:direct:42"
    assert event.text == "hi there"
    assert mentioned


def test_a_telegram_dm_goes_to_the_main_session_under_openclaws_default_scope() -> None:
    ctx = Context(agent_id="main", dm_scope=DmScope.MAIN, now=NOW)
    parsed = telegram.normalise(p.telegram_message(), bot_id=p.BOT_ID, bot_username=None, ctx=ctx)
    assert only_turn(parsed)[0].session_key == "agent:main:main"


def test_a_telegram_forum_topic_message_gets_the_topic_session_and_mention_detection() -> None:
    update = p.telegram_message(chat_id=-100123, chat_type="supergroup", topic=99, mention=True)
    event, mentioned = only_turn(tg(update))
    assert event.session_key == "agent:main:telegram:group:-100123:topic:99"
    assert event.reply_to is not None
    assert event.reply_to.thread_id == "99"
    assert mentioned


def test_telegram_group_messages_without_a_mention_are_not_addressed_but_replies_to_the_bot_are() -> None:
    plain = p.telegram_message(chat_id=-5, chat_type="group")
    assert only_turn(tg(plain))[1] is False
    reply = p.telegram_message(chat_id=-5, chat_type="group", reply_to_bot=True)
    assert only_turn(tg(reply))[1] is True


@pytest.mark.parametrize(
    ("update", "reason"),
    [
        (p.telegram_message(from_bot=True), "own_message"),
        (p.telegram_message(edited=True), "edit"),
        ({"update_id": 5, "a_future_update_kind": {"id": "1"}}, "unsupported_update"),
        (p.telegram_message(chat_type="channel"), "unsupported_chat"),
    ],
)
def test_telegram_updates_that_are_not_turns_are_ignored_with_a_reason(
    update: dict[str, Any], reason: str
) -> None:
    parsed = tg(update)
    assert parsed.turns == ()
    assert [i.reason for i in parsed.ignored] == [reason]


def test_a_telegram_date_beyond_the_clock_is_an_invalid_envelope_not_a_crash() -> None:
    # Found by hypothesis: python-telegram-bot's datetime conversion raises OSError (EOVERFLOW) here.
    update = p.telegram_message(text="hi")
    update["message"]["date"] = 67_768_036_191_676_800
    with pytest.raises(InvalidEnvelope, match="not a Telegram update"):
        tg(update)


def test_the_telegram_secret_token_must_match() -> None:
    telegram.verify("s3cret", "s3cret")
    for header, secret in [("wrong", "s3cret"), (None, "s3cret"), ("s3cret", None)]:
        with pytest.raises(Unauthorized):
            telegram.verify(header, secret)
