"""OpenClaw's reset rules with explicit clocks and timezones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from clawbus.bus.settings import ResetOverride, SessionSettings
from clawbus.storage.reset import (
    ResetPolicy,
    ResetRules,
    chat_type_of,
    daily_boundary,
    is_stale,
    parse_trigger,
    policy_for,
    rules_from,
)

BERLIN = "Europe/Berlin"


def stale(policy: ResetPolicy, started: datetime, last: datetime, now: datetime, tz: str = "UTC") -> bool:
    return is_stale(policy, started_at=started, last_interaction_at=last, now=now, timezone=tz)


def test_the_default_is_daily_at_four_in_the_deployments_timezone() -> None:
    policy = policy_for(rules_from(SessionSettings()), chat_type="direct", channel="telegram")
    assert policy == ResetPolicy("daily", 4, None)
    started = datetime(2026, 1, 31, 2, 30, tzinfo=UTC)  # 03:30 in Berlin
    assert not stale(policy, started, started, datetime(2026, 1, 31, 2, 59, tzinfo=UTC), BERLIN)
    assert stale(policy, started, started, datetime(2026, 1, 31, 3, 0, tzinfo=UTC), BERLIN)  # 04:00 Berlin
    assert not stale(policy, started, started, datetime(2026, 1, 31, 3, 0, tzinfo=UTC), "UTC")


def test_daily_with_idle_expires_at_whichever_comes_first() -> None:
    policy = ResetPolicy("daily", 4, idle_minutes=30)
    started = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
    assert stale(policy, started, started, started + timedelta(minutes=31))  # idle first
    assert not stale(policy, started, started + timedelta(minutes=20), started + timedelta(minutes=31))
    late = datetime(2026, 2, 1, 4, 0, tzinfo=UTC)
    assert stale(policy, started, late - timedelta(minutes=1), late)  # the boundary first


def test_manual_never_expires_and_idle_mode_ignores_the_clock_hour() -> None:
    started = datetime(2026, 1, 1, tzinfo=UTC)
    assert not stale(ResetPolicy("manual"), started, started, started + timedelta(days=400))
    idle = ResetPolicy("idle", 4, 120)
    assert not stale(idle, started, started + timedelta(days=3), started + timedelta(days=3, minutes=119))
    assert stale(idle, started, started, started + timedelta(minutes=121))


def test_channel_beats_type_beats_default_and_dm_means_direct() -> None:
    rules = ResetRules(
        reset=ResetOverride(mode="daily", at_hour=6),
        by_type={"dm": ResetOverride(mode="idle", idle_minutes=45), "group": ResetOverride(at_hour=2)},
        by_channel={"slack": ResetOverride(mode="manual")},
        reset_configured=True,
    )
    assert policy_for(rules, chat_type="direct", channel="telegram") == ResetPolicy("idle", 6, 45)
    assert policy_for(rules, chat_type="group", channel="discord") == ResetPolicy("daily", 2, None)
    assert policy_for(rules, chat_type="direct", channel="slack").mode == "manual"
    assert policy_for(rules, chat_type="thread", channel="discord") == ResetPolicy("daily", 6, None)


def test_legacy_idle_minutes_alone_means_idle_only() -> None:
    legacy = rules_from(SessionSettings(idle_minutes=90))
    assert policy_for(legacy, chat_type="direct", channel=None) == ResetPolicy("idle", 4, 90)
    configured = rules_from(SessionSettings.model_validate({"idle_minutes": 90, "reset": {"mode": "daily"}}))
    assert policy_for(configured, chat_type="direct", channel=None) == ResetPolicy("daily", 4, 90)


def test_triggers_start_over_and_pass_the_rest_through() -> None:
    assert parse_trigger("/new") is not None
    assert parse_trigger("/new").alone  # type: ignore[union-attr]
    found = parse_trigger("/reset  plan my week")
    assert found is not None
    assert (found.command, found.rest) == ("/reset", "plan my week")
    assert parse_trigger("/newspaper please") is None
    assert parse_trigger("tell me about /new") is None
    assert chat_type_of("agent:main:telegram:group:-100:topic:7") == "thread"
    assert chat_type_of("agent:main:discord:channel:42") == "group"
    assert chat_type_of("agent:main:main") == "direct"


@given(
    now=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    hour=st.integers(0, 23),
    tz=st.sampled_from(["UTC", BERLIN, "America/New_York", "Asia/Kolkata", "Pacific/Chatham"]),
)
def test_the_daily_boundary_is_the_latest_at_hour_not_after_now(now: datetime, hour: int, tz: str) -> None:
    boundary = daily_boundary(now, hour, tz)
    assert boundary <= now
    assert now - boundary < timedelta(hours=25)  # a DST day is 25 hours long
    assert boundary.hour == hour or boundary.hour == hour + 1  # a DST gap moves the wall clock on
