"""WhatsApp Cloud API payloads: the right turns and session keys, or a typed error."""

from __future__ import annotations

import json
from typing import Any

import pytest

from clawbus.bus.errors import InvalidEnvelope, Unauthorized
from clawbus.channels.whatsapp import inbound as whatsapp
from clawbus.channels.whatsapp.inbound import signed_headers as whatsapp_headers
from tests.channels.common import DEDUP_TTL_S, only_turn, sent, wa
from tests.ingress import payloads as p


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


@pytest.mark.parametrize(("kind", "reason"), [("reaction", "reaction"), ("location", "unsupported_type")])
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
