"""openclaw.json keys as clawbus settings: what is mapped, skipped or refused, and precedence."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clawbus.bus.errors import ConfigError
from clawbus.bus.settings import Settings
from clawbus.openclaw.config import map_document, parse_document
from clawbus.schemas import DmScope

DOCUMENT = """
// as OpenClaw writes it: JSON5
{
  gateway: { port: 18789 },
  agents: {
    defaults: {
      model: "anthropic/claude-sonnet-4",
      userTimezone: "Europe/Berlin",
      heartbeat: { every: "1h", activeHours: { start: "08:00", end: "22:00" }, target: "none" },
      compaction: { reserveTokens: 30000, keepRecentTokens: 12000 },
    },
  },
  session: {
    dmScope: "per-channel-peer",
    reset: { mode: "idle", idleMinutes: 45 },
    resetByType: { group: { mode: "daily", atHour: 6 } },
    resetByChannel: { telegram: { mode: "idle", idleMinutes: 30 } },
    resetTriggers: ["/fresh"],
  },
  messages: { queue: { mode: "followup", debounceMs: 500, cap: 20, byChannel: { slack: "collect" } } },
  channels: {
    defaults: { groupPolicy: "open" },
    telegram: { botToken: "123:secret", dmPolicy: "open", allowFrom: ["*", 1001], groupPolicy: "disabled",
                groups: { "*": { requireMention: false } } },
    whatsapp: { dmPolicy: "allowlist", allowFrom: ["+4915112345678"] },
  },
}
"""


def settings_of(text: str) -> Settings:
    return Settings.with_document(map_document(parse_document(text)).values)


def test_every_understood_key_configures_its_setting() -> None:
    settings = settings_of(DOCUMENT)
    assert settings.session.dm_scope == DmScope.PER_CHANNEL_PEER
    assert (settings.session.reset.mode, settings.session.reset.idle_minutes) == ("idle", 45)
    assert settings.session.reset_by_type["group"].at_hour == 6
    assert settings.session.reset_by_channel["telegram"].idle_minutes == 30
    assert settings.session.reset_triggers == ["/fresh"]
    queue = settings.dispatcher.queue
    assert (queue.mode, queue.debounce_ms, queue.cap) == ("followup", 500, 20)
    assert queue.mode_for("slack") == "collect"
    assert settings.telegram.dm_policy == "open"
    assert settings.telegram.allow_from == ["*", "1001"]
    assert settings.telegram.group_policy == "disabled"  # the channel's own beats channels.defaults
    assert settings.telegram.require_mention is False
    assert settings.slack.group_policy == settings.discord.group_policy == "open"
    assert settings.whatsapp.allow_from == ["+4915112345678"]
    assert settings.agent.timezone == settings.heartbeat.timezone == "Europe/Berlin"
    heartbeat = settings.heartbeat
    assert (heartbeat.every, heartbeat.active_start, heartbeat.active_end, heartbeat.target) == (
        "1h",
        "08:00",
        "22:00",
        "none",
    )
    assert (settings.agent.reserve_tokens, settings.agent.keep_recent_tokens) == (30000, 12000)


def test_the_owner_and_an_explicit_heartbeat_destination_are_mapped() -> None:
    """OpenClaw's `commands.ownerAllowFrom` names the owner (where `owner` heartbeats go); a channel as
    `target` with `to` (a number kept as the string it names) and `accountId` names the chat."""
    mapped = map_document(
        {
            "commands": {"ownerAllowFrom": ["telegram:123456789"]},
            "agents": {
                "defaults": {"heartbeat": {"target": "telegram", "to": 987654321, "accountId": "ops-bot"}}
            },
        }
    )
    settings = Settings.with_document(mapped.values)
    assert settings.commands.owner_allow_from == ["telegram:123456789"]
    heartbeat = settings.heartbeat
    assert (heartbeat.target, heartbeat.to, heartbeat.account_id) == ("telegram", "987654321", "ops-bot")
    assert mapped.unsupported == ()


def test_credentials_and_unknown_keys_are_listed_never_mapped() -> None:
    mapped = map_document(parse_document(DOCUMENT))
    assert "channels.telegram.botToken" in mapped.ignored
    assert {"gateway", "agents.defaults.model"} <= set(mapped.ignored)
    assert "123:secret" not in repr(mapped.values)
    assert Settings.with_document(mapped.values).telegram.bot_token is None


def test_a_value_openclaw_accepts_but_clawbus_cannot_honour_is_skipped_with_its_reason() -> None:
    mapped = map_document(
        {
            "messages": {
                "queue": {
                    "mode": "steer-backlog",
                    "byChannel": {"telegram": "steer-backlog", "slack": "followup"},
                }
            },
            "agents": {"defaults": {"heartbeat": {"target": "imessage", "activeHours": {"start": "08:30"}}}},
        }
    )
    settings = Settings.with_document(mapped.values)
    assert settings.dispatcher.queue.mode == "steer"  # the default stands
    assert settings.dispatcher.queue.by_channel == {"slack": "followup"}
    assert settings.heartbeat.target == "owner"  # OpenClaw's default stands
    assert settings.heartbeat.active_start is None
    assert [entry.split(":")[0] for entry in mapped.unsupported] == [
        "messages.queue.mode",
        "messages.queue.byChannel.telegram",
        "agents.defaults.heartbeat.activeHours.start",
        "agents.defaults.heartbeat.target",
    ]


TOOLS = """
{
  tools: {
    profile: "coding",
    deny: ["browser"],
    sandbox: { tools: { alsoAllow: ["read"], deny: ["web_fetch"] } },
    byProvider: { anthropic: { profile: "minimal" } },
    exec: { host: "sandbox" },
  },
  agents: {
    entries: {
      main: {
        default: true,
        model: "anthropic/claude-opus-4-6",
        tools: { allow: ["group:fs", "cron"], toolsBySender: {} },
      },
      family: { tools: { profile: "messaging", sandbox: { tools: { allow: ["read"] } } } },
    },
  },
}
"""


def test_tool_policy_keys_configure_the_agents_tools() -> None:
    mapped = map_document(parse_document(TOOLS))
    tools = Settings.with_document(mapped.values).agent.tools
    assert (tools.profile, tools.allow, tools.deny) == ("coding", [], ["browser"])
    assert (tools.untrusted.allow, tools.untrusted.also_allow) == (["group:web"], ["read"])  # default kept
    assert tools.untrusted.deny == ["web_fetch"]
    assert tools.agents["main"].allow == ["group:fs", "cron"]
    assert tools.agents["main"].untrusted is None  # the global untrusted layer applies
    family = tools.agents["family"]
    assert family.profile == "messaging"
    assert family.untrusted is not None
    assert family.untrusted.allow == ["read"]
    assert sorted(entry.split(":")[0] for entry in mapped.unsupported) == [
        "agents.entries.main.model",  # read (issue 23), but clawbus has no anthropic provider
        "agents.entries.main.tools.toolsBySender",
        "tools.byProvider",
    ]
    assert {"tools.exec"} <= set(mapped.ignored)
    assert "tools.deny" not in mapped.ignored


def test_the_legacy_agents_list_roster_configures_per_agent_tools() -> None:
    document = {"agents": {"list": [{"id": "main", "tools": {"deny": ["group:automation"]}}, {"id": "x"}]}}
    tools = Settings.with_document(map_document(document).values).agent.tools
    assert tools.agents["main"].deny == ["group:automation"]
    assert list(tools.agents) == ["main"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"session": {"dmScope": "per-user"}}, "session.dmScope: expected one of main, per-peer"),
        ({"messages": {"queue": {"mode": 3}}}, "messages.queue.mode: expected one of steer"),
        ({"messages": {"queue": {"debounceMs": 90_000}}}, "messages.queue.debounceMs: expected a whole"),
        ({"channels": {"slack": {"dmPolicy": "everyone"}}}, "channels.slack.dmPolicy: expected one of"),
        ({"channels": {"telegram": {"allowFrom": "tg:1"}}}, "channels.telegram.allowFrom: expected a list"),
        ({"channels": {"discord": {"requireMention": "yes"}}}, "requireMention: expected true or false"),
        ({"channels": {"slack": {"streaming": {"chunkMode": "words"}}}}, "chunkMode: expected one of length"),
        ({"channels": {"telegram": {"pairing": {"message": "Ask me"}}}}, "pairing.message: expected a"),
        ({"session": {"reset": {"mode": "weekly"}}}, "session.reset: expected mode: one of daily"),
        ({"session": {"resetByType": {"room": {}}}}, "session.resetByType: expected keys among direct"),
        ({"agents": {"defaults": {"userTimezone": "Mars/Base"}}}, "userTimezone: expected an IANA"),
        ({"agents": {"defaults": {"heartbeat": {"every": "soon"}}}}, "heartbeat.every: expected a duration"),
        ({"agents": {"defaults": {"heartbeat": {"activeHours": {"end": "25:00"}}}}}, "end: expected a time"),
        ({"tools": {"profile": "everything"}}, "tools: expected profile: one of minimal, coding"),
        (
            {"tools": {"allow": ["read"], "alsoAllow": ["cron"]}},
            "tools: expected allow or alsoAllow, not both",
        ),
        ({"tools": {"sandbox": {"tools": {"deny": "cron"}}}}, "tools: expected sandbox.tools: deny: a list"),
        ({"agents": {"entries": {"main": {"tools": []}}}}, "agents.entries.main.tools: expected an object"),
    ],
)
def test_a_bad_value_is_a_config_error_naming_the_openclaw_key(
    document: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=r"^openclaw\.json ") as caught:
        map_document(document)
    assert message in str(caught.value)


def test_chunk_mode_and_the_pairing_template_configure_each_channel() -> None:
    document = {
        "channels": {
            "telegram": {"streaming": {"chunkMode": "newline"}, "pairing": {"message": "Code: {code}"}},
            # the legacy flat key (`openclaw doctor --fix` moves it under streaming) still counts...
            "whatsapp": {"chunkMode": "newline"},
            # ...but the canonical key wins when both are set
            "slack": {"chunkMode": "newline", "streaming": {"chunkMode": "length"}},
        }
    }
    mapped = map_document(document)
    settings = Settings.with_document(mapped.values)
    assert settings.telegram.chunk_mode == "newline"
    assert settings.telegram.pairing_message == "Code: {code}"
    assert settings.whatsapp.chunk_mode == "newline"
    assert settings.slack.chunk_mode == "length"
    assert settings.discord.chunk_mode == "length"
    assert settings.discord.pairing_message is None
    assert mapped.origins[("telegram", "chunk_mode")] == "channels.telegram.streaming.chunkMode"
    assert mapped.ignored == ()


def test_a_document_that_is_not_a_json5_object_is_refused() -> None:
    with pytest.raises(ConfigError, match="not valid JSON5"):
        parse_document("{ session: ")
    with pytest.raises(ConfigError, match="JSON object at the top level"):
        parse_document("[1, 2]")


def test_reserve_tokens_are_raised_to_openclaws_floor() -> None:
    def reserve(compaction: dict[str, int]) -> int:
        document = {"agents": {"defaults": {"compaction": compaction}}}
        return Settings.with_document(map_document(document).values).agent.reserve_tokens

    assert reserve({"reserveTokens": 8000}) == 20_000
    assert reserve({"reserveTokens": 8000, "reserveTokensFloor": 0}) == 8000
    assert reserve({"reserveTokensFloor": 32_000}) == 32_000


def test_env_beats_the_document_which_beats_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    document = map_document(
        {"session": {"dmScope": "per-peer", "reset": {"atHour": 7}}, "messages": {"queue": {"cap": 3}}}
    ).values
    monkeypatch.setenv("CLAWBUS_SESSION__DM_SCOPE", "per-channel-peer")
    monkeypatch.setenv("CLAWBUS_SESSION__RESET__MODE", "idle")
    settings = Settings.with_document(document)
    assert settings.session.dm_scope == DmScope.PER_CHANNEL_PEER  # env over document
    assert (settings.session.reset.mode, settings.session.reset.at_hour) == ("idle", 7)  # merged
    assert settings.dispatcher.queue.cap == 3  # document over default
    assert settings.dispatcher.queue.debounce_ms == 500  # default
    assert Settings().dispatcher.queue.cap == 20  # without the document: the default


_SCALAR = st.sampled_from(
    [
        None,
        True,
        0,
        -1,
        7,
        25,
        90_000,
        "",
        "open",
        "main",
        "per-peer",
        "followup",
        "steer",
        "idle",
        "30m",
        "08:00",
        "24:00",
        "UTC",
        "*",
        "tg:1",
    ]
)
_JSON = (
    _SCALAR
    | st.lists(_SCALAR, max_size=2)
    | st.dictionaries(
        st.sampled_from(["mode", "atHour", "idleMinutes", "start", "end", "every", "telegram", "direct"]),
        _SCALAR | st.dictionaries(st.sampled_from(["mode", "atHour", "start"]), _SCALAR, max_size=2),
        max_size=3,
    )
)
_KNOWN_SHAPES = st.fixed_dictionaries(
    {},
    optional={
        "session": st.dictionaries(
            st.sampled_from(["dmScope", "reset", "resetByType", "idleMinutes", "resetTriggers"]), _JSON
        ),
        "messages": st.fixed_dictionaries(
            {"queue": st.dictionaries(st.sampled_from(["mode", "debounceMs", "cap", "byChannel"]), _JSON)}
        ),
        "channels": st.dictionaries(
            st.sampled_from(["telegram", "slack", "defaults"]),
            st.dictionaries(
                st.sampled_from(["dmPolicy", "allowFrom", "groupPolicy", "requireMention"]), _JSON
            ),
        ),
        "agents": st.fixed_dictionaries(
            {"defaults": st.dictionaries(st.sampled_from(["userTimezone", "heartbeat", "compaction"]), _JSON)}
        ),
        "tools": st.dictionaries(
            st.sampled_from(["profile", "allow", "alsoAllow", "deny", "sandbox", "byProvider"]),
            _JSON | st.fixed_dictionaries({"tools": _JSON}),
        ),
    },
)


@given(_KNOWN_SHAPES)
def test_any_document_either_configures_valid_settings_or_is_a_config_error(document: dict[str, Any]) -> None:
    try:
        mapped = map_document(document)
    except ConfigError as exc:
        problem = str(exc)
    else:
        Settings.with_document(mapped.values)  # never a validation error deep inside a stage
        return
    assert problem.startswith("openclaw.json ")


def test_every_queue_mode_and_drop_of_openclaw_is_mapped() -> None:
    # issue 21: steer (upstream's default), interrupt and `drop` are honoured now
    for mode in ("steer", "followup", "collect", "interrupt"):
        document = {
            "messages": {
                "queue": {
                    "mode": mode,
                    "byChannel": {"slack": mode},
                    "drop": "old",
                    "debounceMsByChannel": {"discord": 1000},
                }
            }
        }
        queue = Settings.with_document(map_document(document).values).dispatcher.queue
        assert (queue.mode, queue.mode_for("slack"), queue.drop) == (mode, mode, "old")
        assert queue.debounce_ms_by_channel == {"discord": 1000}


def test_a_channels_streaming_mode_turns_its_progress_drafts_on_or_off() -> None:
    mapped = map_document(
        {
            "channels": {
                "telegram": {"streaming": {"mode": "off"}},
                "discord": {"streaming": {"mode": "progress"}},
                "slack": {"streaming": {"mode": "partial"}},  # the answer streamed into the preview
            }
        }
    )
    settings = Settings.with_document(mapped.values)
    assert (settings.telegram.streaming, settings.discord.streaming) == ("off", "progress")
    assert settings.slack.streaming == "progress"  # unsupported: the default stands
    assert [entry.split(":")[0] for entry in mapped.unsupported] == ["channels.slack.streaming.mode"]
    assert Settings().whatsapp.streaming == "off"  # cannot edit: typing only


def test_a_channels_error_policy_says_whether_a_failed_turn_tells_its_chat() -> None:
    document = {"channels": {"telegram": {"errorPolicy": "silent"}, "slack": {"errorPolicy": "once"}}}
    settings = Settings.with_document(map_document(document).values)
    assert (settings.telegram.error_policy, settings.slack.error_policy) == ("silent", "once")
    assert settings.discord.error_policy == "always"  # OpenClaw's default
    with pytest.raises(ConfigError, match="errorPolicy"):
        map_document({"channels": {"telegram": {"errorPolicy": "sometimes"}}})
