"""Where a heartbeat's answer goes, from OpenClaw's `heartbeat.target` (docs/gateway/heartbeat.md)."""

from __future__ import annotations

import pytest

from clawbus.bus.errors import ConfigError
from clawbus.bus.settings import CHANNELS, HeartbeatSettings, Settings
from clawbus.bus.settings.stages import HEARTBEAT_TARGETS
from clawbus.channels.owner import Owners, owners_in
from clawbus.dispatcher.core.heartbeat_target import HeartbeatTargets, heartbeat_delivery
from clawbus.schemas import Handoff, InboundEvent
from clawbus.storage.cron.jobs import heartbeat_event

OWNER = HeartbeatSettings()  # target: owner, OpenClaw's default


def test_the_owner_is_the_first_owner_allow_from_entry_that_addresses_a_dm() -> None:
    candidates = Owners(
        ["discord:123456789012345678", "telegram:@alice", "telegram:123456789", "slack:U0123ABCD"],
        {"whatsapp": ["+4915112345678"]},
    )
    # A Discord user id is not a DM channel, a Telegram @username is not a chat: both passed over.
    assert heartbeat_delivery(OWNER, candidates) == Handoff(channel="telegram", to="123456789")


def test_without_an_owner_entry_the_first_concrete_allow_from_entry_is_the_owner() -> None:
    candidates = Owners([], {"telegram": ["*", "@bob"], "slack": ["slack:U0123ABCD"]})
    assert candidates.dm() == ("slack", "U0123ABCD")  # Slack posts to the bot's DM with a member id
    assert Owners([], {"whatsapp": ["wa:+4915112345678"]}).dm() == ("whatsapp", "4915112345678")


def test_a_bare_owner_id_names_the_owner_on_the_first_channel_whose_dm_it_addresses() -> None:
    # OpenClaw applies an unprefixed `ownerAllowFrom` entry to every channel; a number is a WhatsApp DM.
    assert Owners(["+4915112345678"], {}).dm() == ("whatsapp", "4915112345678")
    assert Owners(["U0123ABCD"], {"telegram": ["42"]}).dm() == ("slack", "U0123ABCD")


def test_an_owner_named_without_a_dm_address_is_not_replaced_by_an_allow_from_friend() -> None:
    # `ownerAllowFrom` names the owner (a Discord id: no DM address); 42 may talk but is not the owner.
    friend = Owners(["discord:123456789012345678"], {"telegram": ["42"]})
    assert heartbeat_delivery(OWNER, friend) is None  # the last route, never the friend's DM
    # Entries that name nobody leave `allowFrom` as the owner, as in OpenClaw ("first concrete entry").
    nobody = Owners(["*", "telegram:user:42", "signal:+4915112345678"], {"telegram": ["42"]})
    assert nobody.dm() == ("telegram", "42")


def test_with_no_owner_known_the_heartbeat_goes_to_the_last_route() -> None:
    assert heartbeat_delivery(OWNER, Owners([], {"telegram": ["*"], "discord": ["1234"]})) is None


def test_last_none_and_a_named_chat() -> None:
    candidates = Owners(["telegram:1"], {})
    assert heartbeat_delivery(HeartbeatSettings(target="last"), candidates) is None
    assert heartbeat_delivery(HeartbeatSettings(target="none"), candidates) == Handoff(mode="none")
    named = HeartbeatSettings(target="whatsapp", to="4915112345678", account_id="work")
    wanted = Handoff(channel="whatsapp", to="4915112345678", account_id="work")
    assert heartbeat_delivery(named, candidates) == wanted


def test_a_channel_target_without_to_is_refused_with_what_to_set() -> None:
    with pytest.raises(ConfigError, match="needs `to`"):
        heartbeat_delivery(HeartbeatSettings(target="telegram"), Owners())
    with pytest.raises(ConfigError, match="needs `to`"):  # the dispatcher does not start with it
        HeartbeatTargets(Settings.model_validate({"heartbeat": {"agents": {"ops": {"target": "slack"}}}}))


def test_an_unknown_target_is_refused_when_the_settings_are_read() -> None:
    with pytest.raises(ValueError, match="Input should be 'owner', 'last', 'none', 'telegram'"):
        HeartbeatSettings(target="signal")  # type: ignore[arg-type]  # what a user's setting can hold
    # Every chat channel clawbus serves is a target, and nothing else is.
    assert set(HEARTBEAT_TARGETS) - {"owner", "last", "none"} == set(CHANNELS) - {"webchat"}


def test_only_configured_channels_allow_lists_name_the_owner() -> None:
    settings = Settings.model_validate(
        {
            "telegram": {"allow_from": ["111"]},  # no bot token: Telegram is off
            "slack": {"allow_from": ["U0999ZZZZ"], "bot_token": "xoxb-1", "signing_secret": "s"},
        }
    )
    assert owners_in(settings, enabled_only=True).dm() == ("slack", "U0999ZZZZ")


def test_a_heartbeat_event_gets_its_own_agents_delivery_and_nothing_else_changes() -> None:
    settings = Settings.model_validate(
        {
            "commands": {"owner_allow_from": ["telegram:42"]},
            "heartbeat": {"agents": {"home": {}, "ops": {"target": "whatsapp", "to": "4915112345678"}}},
        }
    )
    targets = HeartbeatTargets(settings)
    home, ops = heartbeat_event("home"), heartbeat_event("ops")
    assert targets.resolve(home).delivery == Handoff(channel="telegram", to="42")
    assert targets.resolve(ops).delivery == Handoff(channel="whatsapp", to="4915112345678")
    named = home.model_copy(update={"delivery": Handoff(mode="none")})
    assert targets.resolve(named) is named  # an event that names its delivery keeps it
    message = InboundEvent(event_id="telegram:bot:1", channel="telegram", session_key="agent:home:main")
    assert targets.resolve(message) is message
