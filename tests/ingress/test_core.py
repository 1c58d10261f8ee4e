"""The pure cores: each channel's payloads become the right turns and session keys, or a typed error."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from clawbus.bus.errors import InvalidEnvelope, Unauthorized
from clawbus.ingress.core import Context, Parsed, discord, slack, telegram, whatsapp
from clawbus.ingress.signing import discord_headers, slack_headers, whatsapp_headers
from clawbus.schemas import DmScope, InboundEvent
from tests.ingress import payloads as p

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
CTX = Context(agent_id="main", dm_scope=DmScope.PER_CHANNEL_PEER, now=NOW)


def tg(update: dict[str, Any]) -> Parsed:
    return telegram.normalise(update, bot_id=p.BOT_ID, bot_username=p.BOT_USERNAME, ctx=CTX)


def only_turn(parsed: Parsed) -> tuple[InboundEvent, bool]:
    assert len(parsed.turns) == 1, parsed
    return parsed.turns[0].event, parsed.turns[0].mentioned


# --- Telegram ---------------------------------------------------------------------------------------


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


# --- Slack ------------------------------------------------------------------------------------------


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


# --- WhatsApp ---------------------------------------------------------------------------------------

DEDUP_TTL_S = 8 * 24 * 3600


def wa(body: dict[str, Any]) -> Parsed:
    return whatsapp.normalise(body, ctx=CTX, dedup_ttl_s=DEDUP_TTL_S)


def sent(seconds_ago: int) -> int:
    return int(NOW.timestamp()) - seconds_ago


def test_a_whatsapp_message_is_a_turn_and_its_status_receipt_is_not() -> None:
    body = p.whatsapp_message(wamid="wamid.ABC", sender="4915112345678", text="moin", statuses=True)
    parsed = wa(body)
    event, mentioned = only_turn(parsed)
    assert event.event_id == "whatsapp:wamid.ABC"
    assert event.session_key == "agent:main:whatsapp:direct:4915112345678"
    assert event.sender is not None
    assert event.sender.id == "4915112345678"
    assert event.text == "moin"
    assert mentioned
    assert [i.reason for i in parsed.ignored] == ["status_update"]


def test_a_whatsapp_group_message_gets_the_group_session() -> None:
    body = p.whatsapp_message(group_id="120363000000000001", text=f"@{p.WHATSAPP_NUMBER} hi")
    event, mentioned = only_turn(wa(body))
    assert event.session_key == "agent:main:whatsapp:group:120363000000000001"
    assert mentioned


@pytest.mark.parametrize(("kind", "reason"), [("reaction", "reaction"), ("sticker", "unsupported_type")])
def test_whatsapp_non_text_messages_are_ignored_with_a_reason(kind: str, reason: str) -> None:
    parsed = wa(p.whatsapp_message(kind=kind))
    assert parsed.turns == ()
    assert [i.reason for i in parsed.ignored] == [reason]


@pytest.mark.parametrize(
    "seconds_ago", [DEDUP_TTL_S + 1, DEDUP_TTL_S - whatsapp.CLOCK_SKEW_S + 1, 400 * 86_400]
)
def test_a_whatsapp_message_older_than_the_dedup_memory_is_dropped_as_stale(seconds_ago: int) -> None:
    # Its dedup record may be gone: run it again and a replayed, validly signed payload would be a new turn.
    body = p.whatsapp_message(wamid="wamid.OLD", sent_at=sent(seconds_ago), statuses=True)
    parsed = wa(body)
    assert parsed.turns == ()
    assert [(i.reason, i.event_id) for i in parsed.ignored] == [
        ("status_update", None),
        ("stale", "whatsapp:wamid.OLD"),
    ]


@pytest.mark.parametrize("seconds_ago", [DEDUP_TTL_S - whatsapp.CLOCK_SKEW_S, 7 * 86_400, 0, -3600])
def test_a_whatsapp_message_within_the_dedup_memory_is_a_turn(seconds_ago: int) -> None:
    # Meta retries undelivered webhooks for up to 7 days; a sender's clock may run ahead of ours.
    event, _ = only_turn(wa(p.whatsapp_message(sent_at=sent(seconds_ago))))
    assert event.event_id.startswith("whatsapp:")


@pytest.mark.parametrize("timestamp", [None, "", "soon", "-1", "1.7e9", "9" * 40, 10**30, True, [1]])
def test_a_whatsapp_message_without_a_unix_timestamp_is_an_invalid_envelope(timestamp: Any) -> None:
    body = p.whatsapp_message()
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    if timestamp is None:
        del message["timestamp"]
    else:
        message["timestamp"] = timestamp
    with pytest.raises(InvalidEnvelope, match="timestamp"):
        wa(body)


def test_whatsapp_verification_and_signatures() -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": "vt", "hub.challenge": "1158201444"}
    assert whatsapp.verify_subscription(query, "vt") == "1158201444"
    with pytest.raises(Unauthorized):
        whatsapp.verify_subscription({**query, "hub.verify_token": "nope"}, "vt")
    body = json.dumps(p.whatsapp_message()).encode()
    whatsapp.verify(body, whatsapp_headers("app-secret", body)["x-hub-signature-256"], "app-secret")
    for signature in [None, "sha256=00", whatsapp_headers("other", body)["x-hub-signature-256"]]:
        with pytest.raises(Unauthorized):
            whatsapp.verify(body, signature, "app-secret")


# --- Discord ----------------------------------------------------------------------------------------


def test_a_discord_ping_is_answered_with_a_pong() -> None:
    assert discord.normalise({"type": 1, "id": "1", "application_id": "2"}, ctx=CTX).reply == {"type": 1}


def test_a_discord_slash_command_in_a_dm_is_a_deferred_turn_carrying_the_interaction_token() -> None:
    body = p.discord_command(text="what's up", user_id="80351110224678912")
    parsed = discord.normalise(body, ctx=CTX)
    event, mentioned = only_turn(parsed)
    assert parsed.reply == {"type": 5}
    assert event.event_id == f"discord:{body['id']}"
    assert event.session_key == "agent:main:discord:direct:80351110224678912"
    assert event.text == "what's up"
    assert event.reply_to is not None
    assert event.reply_to.model_extra == {
        "interaction_token": body["token"],
        "application_id": body["application_id"],
    }
    assert mentioned


def test_a_discord_command_in_a_guild_thread_gets_the_thread_session() -> None:
    event, _ = only_turn(discord.normalise(p.discord_command(guild=True, thread=True), ctx=CTX))
    assert event.session_key == "agent:main:discord:channel:1100000000000000200:thread:1100000000000000300"


def test_a_discord_signature_is_checked_with_the_application_public_key() -> None:
    key = SigningKey.generate()
    public = key.verify_key.encode().hex()
    body = json.dumps(p.discord_command()).encode()
    headers = discord_headers(key, body, int(NOW.timestamp()))
    discord.verify(body, headers["x-signature-ed25519"], headers["x-signature-timestamp"], public, now=NOW)
    other = SigningKey.generate().verify_key.encode().hex()
    for args in [
        (body + b"x", headers["x-signature-ed25519"], headers["x-signature-timestamp"], public),
        (body, headers["x-signature-ed25519"], headers["x-signature-timestamp"], other),
        (body, "zz", headers["x-signature-timestamp"], public),
        (body, None, None, public),
    ]:
        with pytest.raises(Unauthorized):
            discord.verify(*args, now=NOW)


@pytest.mark.parametrize(
    ("offset_s", "why"), [(-301, "301 s old"), (301, "301 s in the future"), (-86_400 * 30, "2592000 s old")]
)
def test_a_validly_signed_discord_request_outside_five_minutes_is_refused_as_a_replay(
    offset_s: int, why: str
) -> None:
    # The signature covers the timestamp: a captured interaction verifies forever unless its age is checked.
    key = SigningKey.generate()
    public = key.verify_key.encode().hex()
    body = json.dumps(p.discord_command(text="secret plans")).encode()
    sent_at = int(NOW.timestamp()) + offset_s
    headers = discord_headers(key, body, sent_at)
    with pytest.raises(Unauthorized, match="outside the 300 s window") as refused:
        discord.verify(
            body, headers["x-signature-ed25519"], headers["x-signature-timestamp"], public, now=NOW
        )
    assert why in str(refused.value)
    assert "secret plans" not in str(refused.value)


@pytest.mark.parametrize("offset_s", [-300, 0, 300])
def test_a_discord_request_within_five_minutes_either_way_is_accepted(offset_s: int) -> None:
    key = SigningKey.generate()
    body = json.dumps(p.discord_command()).encode()
    headers = discord_headers(key, body, int(NOW.timestamp()) + offset_s)
    discord.verify(
        body,
        headers["x-signature-ed25519"],
        headers["x-signature-timestamp"],
        key.verify_key.encode().hex(),
        now=NOW,
    )


@pytest.mark.parametrize("timestamp", ["", "soon", "1.5e9", "-1", "9" * 40, " 1767614400"])
def test_a_signed_discord_timestamp_that_is_not_unix_seconds_is_refused(timestamp: str) -> None:
    key = SigningKey.generate()
    body = b"{}"
    signature = key.sign(timestamp.encode() + body).signature.hex()
    with pytest.raises(Unauthorized):
        discord.verify(body, signature, timestamp, key.verify_key.encode().hex(), now=NOW)


# --- Arbitrary JSON: a valid envelope or InvalidEnvelope, nothing else ---------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)


def _mutated(data: st.DataObject, base: dict[str, Any]) -> dict[str, Any]:
    """A realistic payload with one field, at some depth, replaced by arbitrary JSON."""
    out = json.loads(json.dumps(base))
    node: Any = out
    while isinstance(node, dict) and node:
        key = data.draw(st.sampled_from(sorted(node)))
        if data.draw(st.booleans()) or not isinstance(node[key], dict):
            node[key] = data.draw(json_values)
            break
        node = node[key]
    return out


NORMALISERS = {
    "telegram": (lambda d: tg(d), p.telegram_message(chat_type="group", mention=True)),
    "slack": (lambda d: slack.normalise(d, ctx=CTX), p.slack_event()),
    "whatsapp": (lambda d: wa(d), p.whatsapp_message(sent_at=int(NOW.timestamp()) - 60)),
    "discord": (lambda d: discord.normalise(d, ctx=CTX), p.discord_command(guild=True)),
    "discord_gateway": (
        lambda d: discord.normalise_message(d, bot_id="900000000000000001", ctx=CTX),
        p.discord_message(mention_bot="900000000000000001"),
    ),
}


@pytest.mark.parametrize("channel", sorted(NORMALISERS))
@settings(max_examples=150, deadline=None)
@given(noise=st.dictionaries(st.text(max_size=12), json_values, max_size=6), data=st.data())
def test_normalisers_return_valid_envelopes_or_raise_invalid_envelope(
    channel: str, noise: dict[str, Any], data: st.DataObject
) -> None:
    normalise, base = NORMALISERS[channel]
    for payload in (noise, _mutated(data, base)):
        try:
            parsed = normalise(payload)
        except InvalidEnvelope:
            continue
        for turn in parsed.turns:
            assert InboundEvent.model_validate_json(turn.event.to_wire()) == turn.event
            assert turn.event.event_id.startswith(f"{channel.split('_')[0]}:")


@pytest.mark.parametrize("nesting", [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"}" * 50_000])
def test_json_nested_deeper_than_the_parser_goes_is_an_invalid_envelope_not_a_crash(nesting: bytes) -> None:
    # Found by the chaos fuzzing: a signed Discord interaction like this was a 500 (RecursionError).
    from clawbus.ingress.core.turns import load_json_object

    with pytest.raises(InvalidEnvelope, match="nested too deeply"):
        load_json_object(nesting)
