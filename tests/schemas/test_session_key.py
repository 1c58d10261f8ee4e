"""Session keys follow OpenClaw's routing rules (reference/openclaw.md §1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clawbus.schemas import DmScope, PeerKind, cron_session_key, derive_session_key, main_session_key
from clawbus.schemas.session_key import normalize_id


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (DmScope.MAIN, "agent:main:main"),
        (DmScope.PER_PEER, "agent:main:direct:12345"),
        (DmScope.PER_CHANNEL_PEER, "agent:main:telegram:direct:12345"),
        (DmScope.PER_ACCOUNT_CHANNEL_PEER, "agent:main:telegram:work:direct:12345"),
    ],
)
def test_direct_messages_follow_dm_scope(scope: DmScope, expected: str) -> None:
    key = derive_session_key(
        agent_id="main",
        channel="Telegram",
        peer_kind=PeerKind.DIRECT,
        peer_id="12345",
        account_id="Work",
        dm_scope=scope,
    )
    assert key == expected


def test_groups_threads_and_topics() -> None:
    group = dict(agent_id="main", channel="telegram", peer_kind=PeerKind.GROUP, peer_id="-100123")
    assert derive_session_key(**group) == "agent:main:telegram:group:-100123"  # type: ignore[arg-type]
    assert derive_session_key(**group, topic_id="99") == "agent:main:telegram:group:-100123:topic:99"  # type: ignore[arg-type]
    slack = derive_session_key(
        agent_id="ops", channel="slack", peer_kind=PeerKind.CHANNEL, peer_id="C0ABC", thread_id="1700.55AB"
    )
    assert slack == "agent:ops:slack:channel:c0abc:thread:1700.55ab"


def test_an_empty_dm_peer_falls_back_to_the_main_session() -> None:
    key = derive_session_key(
        agent_id="main", channel="slack", peer_kind=PeerKind.DIRECT, peer_id=" ", dm_scope=DmScope.PER_PEER
    )
    assert key == "agent:main:main"


def test_identity_links_merge_one_person_across_channels() -> None:
    links = {"Alice": ["telegram:111", "slack:u222"]}
    on_telegram = derive_session_key(
        agent_id="main",
        channel="telegram",
        peer_kind=PeerKind.DIRECT,
        peer_id="111",
        dm_scope=DmScope.PER_PEER,
        identity_links=links,
    )
    on_slack = derive_session_key(
        agent_id="main",
        channel="slack",
        peer_kind=PeerKind.DIRECT,
        peer_id="U222",
        dm_scope=DmScope.PER_PEER,
        identity_links=links,
    )
    assert on_telegram == on_slack == "agent:main:direct:alice"


def test_agent_ids_are_normalised_like_openclaw() -> None:
    assert normalize_id("  Ops ", "main") == "ops"
    assert normalize_id("My Agent!", "main") == "my-agent"
    assert normalize_id("!!!", "main") == "main"
    assert len(normalize_id("x" * 200 + "?", "main")) == 64
    assert main_session_key("") == "agent:main:main"
    assert cron_session_key("main", "Daily-Digest") == "agent:main:cron:daily-digest"


@given(
    agent=st.text(max_size=80),
    channel=st.text(max_size=20),
    peer=st.text(max_size=80),
    kind=st.sampled_from(list(PeerKind)),
    scope=st.sampled_from(list(DmScope)),
)
def test_keys_are_deterministic_and_agent_shaped(
    agent: str, channel: str, peer: str, kind: PeerKind, scope: DmScope
) -> None:
    args = dict(agent_id=agent, channel=channel, peer_kind=kind, peer_id=peer, dm_scope=scope)
    key = derive_session_key(**args)  # type: ignore[arg-type]
    assert key == derive_session_key(**args)  # type: ignore[arg-type]
    assert key.startswith("agent:")
    assert key.split(":")[1] == normalize_id(agent, "main")
