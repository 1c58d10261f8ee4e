"""Envelopes round-trip through JSON, keep unknown fields, and refuse unknown versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clawbus.schemas import (
    AgentRequest,
    EnvelopeError,
    InboundEvent,
    OutboundReply,
    Peer,
    PeerKind,
    ReplyPart,
    ReplyTarget,
    UnsupportedSchemaVersion,
    parse_agent_request,
    parse_inbound,
    parse_outbound,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "schemas"
ids = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=60)


@given(event_id=ids, text=st.text(), peer=ids, channel=st.sampled_from(["telegram", "slack", "webchat"]))
def test_inbound_round_trips(event_id: str, text: str, peer: str, channel: str) -> None:
    event = InboundEvent(
        event_id=event_id,
        channel=channel,
        session_key=f"agent:main:{channel}:direct:{peer}",
        peer=Peer(kind=PeerKind.DIRECT, id=peer),
        text=text,
        reply_to=ReplyTarget(chat_id=peer),
    )
    assert parse_inbound(event.to_wire()) == event


@given(parts=st.lists(st.text(), max_size=5), chat=ids)
def test_outbound_round_trips(parts: list[str], chat: str) -> None:
    reply = OutboundReply(
        reply_id="rp-1",
        session_key="agent:main:main",
        channel="webchat",
        target=ReplyTarget(chat_id=chat),
        parts=tuple(ReplyPart(index=i, text=t) for i, t in enumerate(parts)),
    )
    assert parse_outbound(reply.to_wire()) == reply
    assert reply.text == "".join(parts)


def test_unknown_fields_from_newer_producers_are_kept() -> None:
    wire = json.dumps(
        {
            "schema_version": 1,
            "event_id": "telegram:1",
            "channel": "telegram",
            "session_key": "agent:main:main",
            "mood": "curious",
        }
    )
    event = parse_inbound(wire)
    assert event.model_extra == {"mood": "curious"}
    assert json.loads(event.to_wire())["mood"] == "curious"


@pytest.mark.parametrize("version", [2, 0, "1", None, True])
def test_unknown_schema_versions_are_refused_by_name(version: object) -> None:
    wire = json.dumps({"schema_version": version, "event_id": "x", "channel": "c", "session_key": "k"})
    with pytest.raises(UnsupportedSchemaVersion, match="schema_version"):
        parse_inbound(wire)


@pytest.mark.parametrize(
    "body", ["not json", "[]", '{"schema_version": 1}', b"\xff\xfe", "[" * 100_000 + "]" * 100_000]
)
def test_malformed_envelopes_raise_envelope_error(body: str | bytes) -> None:
    with pytest.raises(EnvelopeError):
        parse_inbound(body)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
    )
)
def test_arbitrary_json_is_an_envelope_or_an_envelope_error(value: object) -> None:
    try:
        event = parse_inbound(json.dumps(value))
    except EnvelopeError:
        return  # refused with our error, never anything else
    assert isinstance(event, InboundEvent)


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.name)
def test_every_recorded_envelope_still_parses(fixture: Path) -> None:
    text = fixture.read_text()
    kind = fixture.name.split("-", 1)[0]
    parser = {"inbound": parse_inbound, "outbound": parse_outbound, "agent_request": parse_agent_request}[
        kind
    ]
    parsed = parser(text)
    assert isinstance(parsed, InboundEvent | OutboundReply | AgentRequest)
