"""Discord interactions and gateway messages: the right turns and session keys, or a typed error."""

from __future__ import annotations

import json

import pytest
from nacl.signing import SigningKey

from clawbus.bus.errors import Unauthorized
from clawbus.channels.discord import inbound as discord
from clawbus.channels.discord.inbound import signed_headers as discord_headers
from tests.channels.common import CTX, NOW, only_turn
from tests.ingress import payloads as p


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
