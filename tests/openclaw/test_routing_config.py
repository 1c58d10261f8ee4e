"""The multi-agent keys of openclaw.json reach the settings: roster, default agent, bindings, links.

Behaviour from OpenClaw 2026.9.6's docs: concepts/multi-agent.md (`agents.entries`, the legacy
`agents.list`, `default: true`), concepts/agent-bindings.md (ACP bindings, unknown agents) and
gateway/config-agents/sessions.md (`session.identityLinks`, `session.groupScope`).
"""

from __future__ import annotations

from typing import Any

import pytest

from clawbus.bus.errors import ConfigError
from clawbus.bus.settings import Settings
from clawbus.openclaw.config import map_document
from clawbus.schemas import PeerKind
from clawbus.schemas.routing import MatchedBy, RouteInput, RoutePeer, resolve_route


def settings_of(document: dict[str, Any]) -> Settings:
    return Settings.with_document(map_document(document).values)


def route(settings: Settings, channel: str, peer: RoutePeer, **facts: Any) -> tuple[str, str, MatchedBy]:
    table = settings.routing.table(settings.session.agent_id, settings.session.dm_scope)
    found = resolve_route(table, RouteInput(channel, peer, **facts))
    return found.agent_id, found.session_key, found.matched_by


def test_the_documented_whatsapp_and_telegram_split_routes_as_openclaw_does() -> None:
    settings = settings_of(
        {
            "agents": {
                "entries": {
                    "chat": {"default": True, "model": "bedrock/amazon.nova-lite-v1:0"},
                    "opus": {"model": "openai/gpt-5"},
                }
            },
            "bindings": [
                {
                    "agentId": "opus",
                    "match": {
                        "channel": "whatsapp",
                        "accountId": "*",
                        "peer": {"kind": "direct", "id": "+1555"},
                    },
                },
                {"agentId": "chat", "match": {"channel": "whatsapp", "accountId": "*"}},
                {"agentId": "opus", "match": {"channel": "telegram", "accountId": "*"}},
            ],
            "session": {"dmScope": "per-channel-peer", "identityLinks": {"alice": ["whatsapp:+1555"]}},
        }
    )
    assert settings.session.agent_id == "chat"
    assert settings.heartbeat.agent_ids == ["chat"]
    assert settings.routing.agents["opus"].model == "openai/gpt-5"
    direct = RoutePeer(PeerKind.DIRECT, "+1555")
    assert route(settings, "whatsapp", direct) == ("opus", "agent:opus:whatsapp:direct:alice", MatchedBy.PEER)
    other = RoutePeer(PeerKind.DIRECT, "+1666")
    assert route(settings, "whatsapp", other, account_id="biz")[::2] == ("chat", MatchedBy.CHANNEL)
    assert route(settings, "telegram", RoutePeer(PeerKind.DIRECT, "9"))[0] == "opus"
    assert route(settings, "slack", RoutePeer(PeerKind.DIRECT, "U1"))[::2] == ("chat", MatchedBy.DEFAULT)


def test_the_legacy_list_roster_and_its_default_marker_are_read() -> None:
    settings = settings_of({"agents": {"list": [{"id": "Main"}, {"id": "home", "default": True}]}})
    assert settings.session.agent_id == "home"


def test_a_sole_agent_is_the_default_and_explicit_ownership_uses_the_system_agent() -> None:
    assert settings_of({"agents": {"entries": {"solo": {}}}}).session.agent_id == "solo"
    explicit = {
        "agents": {
            "ownership": "explicit",
            "defaults": {"systemAgent": {"agentId": "work"}},
            "entries": {"home": {"default": True}, "work": {}},
        }
    }
    assert settings_of(explicit).session.agent_id == "work"


def test_several_agents_without_a_default_are_reported_and_fall_back_to_the_setting() -> None:
    mapped = map_document({"agents": {"entries": {"a": {}, "b": {}}}})
    assert any("no default agent" in reason for reason in mapped.unsupported)
    assert Settings.with_document(mapped.values).session.agent_id == "main"


def test_unusable_models_acp_bindings_and_workspaces_are_reported_not_applied() -> None:
    mapped = map_document(
        {
            "agents": {
                "entries": {"a": {"default": True, "model": "anthropic/claude-opus-4-6", "workspace": "~/w"}}
            },
            "bindings": [{"type": "acp", "agentId": "a", "match": {"channel": "discord"}}],
        }
    )
    assert any(r.startswith("agents.entries.a.model") for r in mapped.unsupported)
    assert any(r.startswith("bindings[0]") for r in mapped.unsupported)
    assert "agents.entries.a.workspace" in mapped.ignored
    assert "agents.entries.a.default" not in mapped.ignored


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ({"bindings": [{"agentId": "x", "match": {}}]}, "bindings[0].match.channel"),
        (
            {
                "agents": {"entries": {"a": {}}},
                "bindings": [{"agentId": "ghost", "match": {"channel": "slack"}}],
            },
            "ghost",
        ),
        ({"session": {"groupScope": "per-thread"}}, "session.groupScope"),
        ({"session": {"identityLinks": {"alice": "telegram:1"}}}, "session.identityLinks"),
    ],
)
def test_a_bad_routing_value_is_a_config_error_naming_the_key(document: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        map_document(document)


def test_group_scope_main_puts_groups_in_the_main_session() -> None:
    settings = settings_of({"session": {"groupScope": "main"}})
    assert route(settings, "telegram", RoutePeer(PeerKind.GROUP, "-100"))[1] == "agent:main:main"


def test_a_channel_history_scope_keeps_threads_in_the_channel_session() -> None:
    settings = settings_of({"channels": {"slack": {"thread": {"historyScope": "channel"}}}})
    peer = RoutePeer(PeerKind.CHANNEL, "C1")
    assert route(settings, "slack", peer, thread_id="171.2")[1] == "agent:main:slack:channel:c1"
    assert route(settings, "discord", peer, thread_id="9")[1] == "agent:main:discord:channel:c1:thread:9"
    assert (
        "channels.slack.thread.historyScope"
        not in map_document({"channels": {"slack": {"thread": {"historyScope": "thread"}}}}).ignored
    )


def test_per_agent_heartbeat_blocks_merge_over_the_defaults_and_only_those_agents_beat() -> None:
    # gateway/heartbeat.md "Per-agent heartbeats": once any agent has a block, only those agents beat.
    mapped = map_document(
        {
            "agents": {
                "defaults": {"heartbeat": {"every": "30m", "target": "last"}},
                "entries": {
                    "main": {"default": True},
                    "Ops": {"heartbeat": {"every": "1h", "activeHours": {"start": "09:00", "end": "17:00"}}},
                    "home": {"heartbeat": {}},
                },
            }
        }
    )
    assert mapped.ignored == ()
    beats = Settings.with_document(mapped.values).heartbeat.per_agent()
    assert sorted(beats) == ["home", "ops"]
    assert (beats["ops"].every, beats["ops"].active_start, beats["ops"].active_end) == (
        "1h",
        "09:00",
        "17:00",
    )
    assert (beats["home"].every, beats["home"].active_start, beats["home"].target) == ("30m", None, "last")


def test_without_per_agent_blocks_one_agent_beats_the_heartbeat_owner_or_the_default() -> None:
    roster = {"main": {"default": True}, "ops": {}}
    plain = settings_of({"agents": {"entries": roster}})
    assert list(plain.heartbeat.per_agent()) == ["main"]
    owned = settings_of({"agents": {"defaults": {"heartbeat": {"agentId": "ops"}}, "entries": roster}})
    assert list(owned.heartbeat.per_agent()) == ["ops"]
    with pytest.raises(ConfigError, match=r"heartbeat\.agentId"):
        map_document({"agents": {"defaults": {"heartbeat": {"agentId": "nobody"}}, "entries": roster}})


def test_a_per_agent_heartbeat_value_is_checked_and_an_unsupported_target_is_said() -> None:
    with pytest.raises(ConfigError, match=r"agents\.entries\.ops\.heartbeat\.every"):
        map_document({"agents": {"entries": {"ops": {"heartbeat": {"every": "soon"}}}}})
    mapped = map_document({"agents": {"list": [{"id": "ops", "heartbeat": {"target": "imessage"}}]}})
    assert any(u.startswith("agents.list[ops].heartbeat.target:") for u in mapped.unsupported)


def test_thread_binding_policy_is_read_from_session_thread_bindings() -> None:
    # gateway/config-agents/sessions.md: enabled, idleHours (default 24, 0 off), maxAgeHours (default 0).
    policy = settings_of({"session": {"threadBindings": {"idleHours": 6, "maxAgeHours": 48}}})
    assert policy.session.thread_bindings.model_dump() == {
        "enabled": True,
        "idle_hours": 6,
        "max_age_hours": 48,
    }
    assert not settings_of(
        {"session": {"threadBindings": {"enabled": False}}}
    ).session.thread_bindings.enabled
    with pytest.raises(ConfigError, match=r"threadBindings\.idleHours"):
        map_document({"session": {"threadBindings": {"idleHours": -1}}})
