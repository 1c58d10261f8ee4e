"""The binding precedence table, from OpenClaw 2026.9.6's own documentation.

Sources (OpenClaw's docs, /tmp/oc/package/docs): `channels/channel-routing.md` "Routing rules (how an
agent is chosen)" (the nine tiers, AND semantics, the binding's `session.dmScope`/`groupScope` override),
`concepts/multi-agent.md` "Routing rules" (first binding in config order wins within a tier; an omitted
`accountId` matches only the default account, `"*"` every account) and `concepts/agent-bindings.md`
("Match fields and precedence": `roles` evaluated with the guild; peer kinds `direct|group|channel`).
Unclear points were checked in the shipped `src/routing/resolve-route.ts` (group and channel peers match
each other; a roles binding competes only in the guild+roles tier).
"""

from __future__ import annotations

import pytest

from clawbus.schemas import DmScope, PeerKind
from clawbus.schemas.routing import (
    Binding,
    GroupScope,
    MatchedBy,
    RouteInput,
    RoutePeer,
    RoutingTable,
    resolve_route,
    thread_session_keys,
)


def bind(agent: str, channel: str = "discord", **match: object) -> Binding:
    return Binding.model_validate({"agentId": agent, "match": {"channel": channel, **match}})


# One binding per tier, each naming its own agent; listed least specific first, so config order alone
# never explains a win.
TIERS = [
    bind("by-channel", accountId="*"),
    bind("by-account", accountId="work"),
    bind("by-team", accountId="work", teamId="T1"),
    bind("by-guild", accountId="work", guildId="G1"),
    bind("by-roles", accountId="work", guildId="G1", roles=["R1"]),
    bind("by-wildcard", accountId="work", peer={"kind": "channel", "id": "*"}),
    bind("by-parent", accountId="work", peer={"kind": "channel", "id": "PARENT"}),
    bind("by-peer", accountId="work", peer={"kind": "channel", "id": "C1"}),
]
FACTS = RouteInput(
    channel="discord",
    account_id="work",
    peer=RoutePeer(PeerKind.CHANNEL, "C1"),
    parent_peer=RoutePeer(PeerKind.CHANNEL, "PARENT"),
    guild_id="G1",
    team_id="T1",
    member_roles=("R1",),
)
ORDER = [
    ("by-peer", MatchedBy.PEER),
    ("by-parent", MatchedBy.PARENT_PEER),
    ("by-wildcard", MatchedBy.PEER_WILDCARD),
    ("by-roles", MatchedBy.GUILD_ROLES),
    ("by-guild", MatchedBy.GUILD),
    ("by-team", MatchedBy.TEAM),
    ("by-account", MatchedBy.ACCOUNT),
    ("by-channel", MatchedBy.CHANNEL),
]


@pytest.mark.parametrize("dropped", range(len(ORDER) + 1))
def test_each_tier_beats_every_less_specific_one(dropped: int) -> None:
    removed = {agent for agent, _ in ORDER[:dropped]}
    table = RoutingTable(
        default_agent="fallback", bindings=tuple(b for b in TIERS if b.agent_id not in removed)
    )
    route = resolve_route(table, FACTS)
    expected = ORDER[dropped] if dropped < len(ORDER) else ("fallback", MatchedBy.DEFAULT)
    assert (route.agent_id, route.matched_by) == expected


def test_within_a_tier_the_first_binding_in_config_order_wins() -> None:
    table = RoutingTable(bindings=(bind("first", accountId="*"), bind("second", accountId="*")))
    assert resolve_route(table, FACTS).agent_id == "first"
    peers = (bind("a", peer={"kind": "channel", "id": "C1"}), bind("b", peer={"kind": "group", "id": "C1"}))
    facts = RouteInput(channel="discord", peer=RoutePeer(PeerKind.CHANNEL, "C1"))
    assert resolve_route(RoutingTable(bindings=peers), facts).agent_id == "a"
    assert resolve_route(RoutingTable(bindings=peers[::-1]), facts).agent_id == "b"


def test_an_omitted_account_matches_only_the_default_account_and_star_matches_any() -> None:
    table = RoutingTable(default_agent="main", bindings=(bind("home"),))
    assert resolve_route(table, RouteInput("discord", None, account_id="default")).agent_id == "home"
    other = resolve_route(table, RouteInput("discord", None, account_id="biz"))
    assert (other.agent_id, other.matched_by) == ("main", MatchedBy.DEFAULT)
    star = RoutingTable(bindings=(bind("any", accountId="*"),))
    assert resolve_route(star, RouteInput("discord", None, account_id="biz")).matched_by is MatchedBy.CHANNEL


def test_a_binding_for_another_account_or_channel_never_matches() -> None:
    table = RoutingTable(
        default_agent="main",
        bindings=(bind("x", accountId="other", peer={"kind": "channel", "id": "C1"}), bind("y", "slack")),
    )
    assert resolve_route(table, FACTS).matched_by is MatchedBy.DEFAULT


def test_channel_names_compare_case_insensitively_and_peer_ids_exactly() -> None:
    table = RoutingTable(
        bindings=(bind("ops", "Discord", accountId="*", peer={"kind": "channel", "id": "c1"}),)
    )
    route = resolve_route(table, FACTS)  # peer C1: the peer binding (c1) does not match
    assert route.matched_by is MatchedBy.DEFAULT


def test_peer_wildcards_match_by_kind_and_group_matches_channel() -> None:
    table = RoutingTable(bindings=(bind("groups", "telegram", peer={"kind": "group", "id": "*"}),))
    group = RouteInput("telegram", RoutePeer(PeerKind.GROUP, "-100"))
    channel = RouteInput("telegram", RoutePeer(PeerKind.CHANNEL, "-100"))
    direct = RouteInput("telegram", RoutePeer(PeerKind.DIRECT, "42"))
    assert resolve_route(table, group).matched_by is MatchedBy.PEER_WILDCARD
    assert resolve_route(table, channel).matched_by is MatchedBy.PEER_WILDCARD
    assert resolve_route(table, direct).matched_by is MatchedBy.DEFAULT


def test_every_field_a_binding_sets_must_match() -> None:
    table = RoutingTable(
        bindings=(bind("x", accountId="work", peer={"kind": "channel", "id": "C1"}, guildId="G2"),)
    )
    assert resolve_route(table, FACTS).matched_by is MatchedBy.DEFAULT
    team = RoutingTable(bindings=(bind("t", accountId="work", teamId="T2"),))
    assert resolve_route(team, FACTS).matched_by is MatchedBy.DEFAULT


def test_a_roles_binding_needs_one_of_its_roles_and_never_competes_as_a_plain_guild_binding() -> None:
    table = RoutingTable(bindings=(bind("mods", accountId="work", guildId="G1", roles=["R9", "R1"]),))
    assert resolve_route(table, FACTS).agent_id == "mods"
    no_role = RouteInput("discord", RoutePeer(PeerKind.CHANNEL, "C1"), account_id="work", guild_id="G1")
    assert resolve_route(table, no_role).matched_by is MatchedBy.DEFAULT
    other_role = RouteInput(
        "discord", RoutePeer(PeerKind.CHANNEL, "C1"), account_id="work", guild_id="G1", member_roles=("R2",)
    )
    assert resolve_route(table, other_role).matched_by is MatchedBy.DEFAULT


def test_the_parent_peer_binding_routes_a_thread_and_its_key_keeps_the_parent() -> None:
    table = RoutingTable(
        bindings=(bind("support", "slack", accountId="*", peer={"kind": "channel", "id": "C9"}),)
    )
    thread = RouteInput(
        "slack", RoutePeer(PeerKind.CHANNEL, "T-THREAD"), parent_peer=RoutePeer(PeerKind.CHANNEL, "C9")
    )
    route = resolve_route(table, thread)
    assert (route.agent_id, route.matched_by) == ("support", MatchedBy.PARENT_PEER)


def test_the_default_agent_answers_when_nothing_matches_and_names_the_keys() -> None:
    route = resolve_route(
        RoutingTable(default_agent="Home"), RouteInput("telegram", RoutePeer(PeerKind.DIRECT, "42"))
    )
    assert (route.agent_id, route.session_key, route.main_session_key) == (
        "home",
        "agent:home:main",
        "agent:home:main",
    )
    assert route.matched_by is MatchedBy.DEFAULT


def test_a_binding_overrides_dm_scope_and_group_scope() -> None:
    dm = Binding.model_validate(
        {
            "agentId": "alex",
            "match": {"channel": "whatsapp", "peer": {"kind": "direct", "id": "+1555"}},
            "session": {"dmScope": "per-channel-peer"},
        }
    )
    room = Binding.model_validate(
        {
            "agentId": "support",
            "match": {"channel": "slack", "peer": {"kind": "channel", "id": "C0123"}},
            "session": {"groupScope": "main"},
        }
    )
    table = RoutingTable(bindings=(dm, room))
    assert resolve_route(table, RouteInput("whatsapp", RoutePeer(PeerKind.DIRECT, "+1555"))).session_key == (
        "agent:alex:whatsapp:direct:+1555"
    )
    other = resolve_route(table, RouteInput("whatsapp", RoutePeer(PeerKind.DIRECT, "+1666")))
    assert other.session_key == "agent:main:main"  # the global dmScope (main) still applies elsewhere
    slack = resolve_route(table, RouteInput("slack", RoutePeer(PeerKind.CHANNEL, "C0123")))
    assert (slack.session_key, slack.group_scope) == ("agent:support:main", GroupScope.MAIN)


def test_identity_links_reach_the_key_under_every_dm_scope_but_main() -> None:
    links = {"alice": ["telegram:42", "+1555"]}
    facts = RouteInput("telegram", RoutePeer(PeerKind.DIRECT, "42"))
    for scope, key in [
        (DmScope.MAIN, "agent:main:main"),
        (DmScope.PER_PEER, "agent:main:direct:alice"),
        (DmScope.PER_CHANNEL_PEER, "agent:main:telegram:direct:alice"),
        (DmScope.PER_ACCOUNT_CHANNEL_PEER, "agent:main:telegram:default:direct:alice"),
    ]:
        assert resolve_route(RoutingTable(dm_scope=scope, identity_links=links), facts).session_key == key


def test_threads_add_a_suffix_keep_their_parent_and_blank_ids_add_nothing() -> None:
    assert thread_session_keys("agent:main:slack:channel:c1", " 171.2 ") == (
        "agent:main:slack:channel:c1:thread:171.2",
        "agent:main:slack:channel:c1",
    )
    assert thread_session_keys("agent:main:slack:channel:c1", "   ") == ("agent:main:slack:channel:c1", None)
    assert thread_session_keys("agent:main:slack:channel:c1", "9", use_suffix=False) == (
        "agent:main:slack:channel:c1",
        "agent:main:slack:channel:c1",
    )
    route = resolve_route(
        RoutingTable(), RouteInput("discord", RoutePeer(PeerKind.CHANNEL, "P"), thread_id="T")
    )
    assert (route.session_key, route.parent_session_key) == (
        "agent:main:discord:channel:p:thread:t",
        "agent:main:discord:channel:p",
    )


def test_a_forum_topic_keeps_its_group_as_parent() -> None:
    facts = RouteInput(
        "telegram", RoutePeer(PeerKind.GROUP, "-100:topic:42"), parent_peer=RoutePeer(PeerKind.GROUP, "-100")
    )
    route = resolve_route(RoutingTable(), facts)
    assert (route.session_key, route.parent_session_key) == (
        "agent:main:telegram:group:-100:topic:42",
        "agent:main:telegram:group:-100",
    )


def test_a_blank_thread_id_adds_no_suffix_to_a_derived_key() -> None:
    from clawbus.schemas import derive_session_key

    key = derive_session_key(
        agent_id="main",
        channel="slack",
        peer_kind=PeerKind.CHANNEL,
        peer_id="C1",
        thread_id="  ",
        topic_id=" ",
    )
    assert key == "agent:main:slack:channel:c1"
