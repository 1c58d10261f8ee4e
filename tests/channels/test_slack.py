"""Slack Events API payloads: the right turns and session keys, or a typed error."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from clawbus.bus.errors import Unauthorized
from clawbus.channels.slack import inbound as slack
from clawbus.channels.slack.inbound import signed_headers as slack_headers
from tests.channels.common import CTX, NOW, only_turn
from tests.ingress import payloads as p


def test_a_slack_dm_is_a_turn_keyed_by_channel_and_ts() -> None:
    body = p.slack_event(text="hi", user="U0ANN", channel="D0DM")
    event, mentioned = only_turn(slack.normalise(body, ctx=CTX))
    assert event.event_id == f"slack:T0TEAM:D0DM:{body['event']['ts']}"
    assert event.session_key == "agent:main:slack:direct:u0ann"
    assert mentioned


def test_a_slack_thread_reply_with_a_mention_lands_in_the_thread_session() -> None:
    body = p.slack_event(
        text=f"<@{p.SLACK_BOT_USER}> and?", channel="C0GEN", channel_type="channel", thread_ts="1759.000100"
    )
    event, mentioned = only_turn(slack.normalise(body, ctx=CTX))
    assert event.session_key == "agent:main:slack:channel:c0gen:thread:1759.000100"
    assert mentioned


def test_slacks_two_deliveries_of_one_mention_are_the_same_event() -> None:
    ts = "1760000000.000900"
    message = p.slack_event(text=f"<@{p.SLACK_BOT_USER}> hi", channel="C0GEN", channel_type="channel", ts=ts)
    mention = p.slack_event(
        text=f"<@{p.SLACK_BOT_USER}> hi",
        channel="C0GEN",
        channel_type="channel",
        ts=ts,
        event_type="app_mention",
    )
    assert message["event_id"] != mention["event_id"]
    first = only_turn(slack.normalise(message, ctx=CTX))[0]
    second = only_turn(slack.normalise(mention, ctx=CTX))[0]
    assert first.event_id == second.event_id


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (p.slack_event(user=p.SLACK_BOT_USER), "own_message"),
        (p.slack_event(bot_id="B0OTHER", subtype="bot_message"), "bot_message"),
        (p.slack_event(subtype="message_changed"), "edit"),
        (p.slack_event(subtype="channel_join"), "unsupported_subtype"),
        (p.slack_event(event_type="reaction_added"), "unsupported_event"),
    ],
)
def test_slack_events_that_are_not_turns_are_ignored_with_a_reason(body: dict[str, Any], reason: str) -> None:
    parsed = slack.normalise(body, ctx=CTX)
    assert parsed.turns == ()
    assert [i.reason for i in parsed.ignored] == [reason]


def test_slack_url_verification_is_answered_with_its_challenge() -> None:
    parsed = slack.normalise({"type": "url_verification", "challenge": "c-123", "token": "x"}, ctx=CTX)
    assert parsed.reply == {"challenge": "c-123"}


def test_a_slack_signature_is_valid_only_with_the_secret_and_within_five_minutes() -> None:
    body = json.dumps(p.slack_event()).encode()
    signed_at = int(NOW.timestamp())
    headers = slack_headers("shh", body, signed_at)
    slack.verify(body, headers, "shh", NOW + timedelta(minutes=4))
    with pytest.raises(Unauthorized):
        slack.verify(body, headers, "shh", NOW + timedelta(minutes=6))
    with pytest.raises(Unauthorized):
        slack.verify(body, headers, "other", NOW)
    with pytest.raises(Unauthorized):
        slack.verify(body + b" ", headers, "shh", NOW)
    with pytest.raises(Unauthorized):
        slack.verify(body, {**headers, "x-slack-request-timestamp": "soon"}, "shh", NOW)
