"""Stored session keys read back: agent-shaped, legacy or malformed, and what conversation they name.

Shapes from OpenClaw 2026.9.6: channels/channel-routing.md "Session key shapes" and the shipped
`classifySessionKeyShape`/`parseAgentSessionKeyParts` (an `agent:` key with an empty agent id or rest is
malformed, never a legacy key); import scopes legacy keys as `toAgentStoreSessionKey` does.
"""

from __future__ import annotations

import pytest

from clawbus.schemas import DmScope, PeerKind, derive_session_key
from clawbus.schemas.session_key_parse import KeyKind, KeyShape, agent_of, parse_session_key, scope_legacy_key


@pytest.mark.parametrize(
    ("key", "shape"),
    [
        ("agent:main:main", KeyShape.AGENT),
        ("AGENT:Work:telegram:direct:42", KeyShape.AGENT),
        ("main", KeyShape.LEGACY),
        ("telegram:group:-100", KeyShape.LEGACY),
        ("agent::main", KeyShape.MALFORMED),
        ("agent:main", KeyShape.MALFORMED),
        ("agent:main:", KeyShape.MALFORMED),
        ("agent:main::x", KeyShape.MALFORMED),
        ("", KeyShape.MALFORMED),
    ],
)
def test_keys_are_classified_as_openclaw_does(key: str, shape: KeyShape) -> None:
    assert parse_session_key(key).shape is shape


@pytest.mark.parametrize(
    ("key", "kind", "fields"),
    [
        ("agent:main:main", KeyKind.MAIN, {}),
        ("agent:home:direct:alice", KeyKind.DIRECT, {"peer_id": "alice"}),
        ("agent:home:whatsapp:direct:+1555", KeyKind.DIRECT, {"channel": "whatsapp", "peer_id": "+1555"}),
        (
            "agent:home:telegram:biz:direct:42",
            KeyKind.DIRECT,
            {"channel": "telegram", "account_id": "biz", "peer_id": "42"},
        ),
        (
            "agent:main:telegram:group:-100123:topic:42",
            KeyKind.GROUP,
            {"channel": "telegram", "peer_id": "-100123", "topic_id": "42"},
        ),
        (
            "agent:main:discord:channel:123:thread:987",
            KeyKind.CHANNEL,
            {"channel": "discord", "peer_id": "123", "thread_id": "987"},
        ),
        ("agent:main:telegram:direct:42:thread:42:7", KeyKind.DIRECT, {"peer_id": "42", "thread_id": "42:7"}),
        ("agent:main:cron:nightly", KeyKind.CRON, {}),
        ("agent:main:subagent:x", KeyKind.SUBAGENT, {}),
        ("agent:main:dashboard:x", KeyKind.OTHER, {}),
    ],
)
def test_an_agent_key_says_what_conversation_it_is(key: str, kind: KeyKind, fields: dict[str, str]) -> None:
    parsed = parse_session_key(key)
    assert parsed.kind is kind
    for name, value in fields.items():
        assert getattr(parsed, name) == value


def test_every_key_the_router_builds_parses_back() -> None:
    for scope in DmScope:
        key = derive_session_key(
            agent_id="Work", channel="slack", peer_kind=PeerKind.DIRECT, peer_id="U1", dm_scope=scope
        )
        parsed = parse_session_key(key)
        assert (parsed.shape, parsed.agent_id) == (KeyShape.AGENT, "work")
        assert parsed.kind is (KeyKind.MAIN if scope is DmScope.MAIN else KeyKind.DIRECT)


def test_agent_of_and_legacy_scoping() -> None:
    assert agent_of("agent:Home:main") == "home"
    assert agent_of("telegram:group:-1", fallback="main") == "main"
    assert agent_of("agent::x", fallback="main") is None
    assert scope_legacy_key("work", "main") == "agent:work:main"
    assert scope_legacy_key("work", "Telegram:group:-100") == "agent:work:telegram:group:-100"
    assert scope_legacy_key("work", "agent:home:main") == "agent:home:main"
