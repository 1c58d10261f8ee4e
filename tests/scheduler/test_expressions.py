"""Scheduler expressions and OpenClaw schedules: refused up front when they cannot work, and fire times
that match what the expression says (fake clock: every time is passed in)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clawbus.bus.errors import InvalidSchedule
from clawbus.schemas.cron import AtSchedule, CronSchedule, EverySchedule
from clawbus.storage.cron.expressions import (
    Cron,
    latest_fire,
    next_fire,
    parse_expression,
    zone,
)
from clawbus.storage.cron.jobs import heartbeat_expression, scheduler_expression, translate_cron

NOW = datetime(2025, 3, 29, 12, 0, tzinfo=UTC)
UTC_ZONE = zone("UTC")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rate(0 minutes)", "positive integer"),
        ("rate(5 minute)", "rate(5 minutes)"),
        ("rate(30 seconds)", "not a Scheduler expression"),
        ("cron(0 9 * * *)", "has 5 fields"),
        ("cron(0 9 * * MON *)", "exactly one of day-of-month and day-of-week"),
        ("cron(0 25 * * ? *)", "values must lie in 0-23"),
        ("cron(0 9 ? * 2#1 *)", "not supported by clawbus"),
        ("cron(0 9 15W * ? *)", "not supported by clawbus"),
        ("at(2025-02-30T10:00:00)", "not a valid date"),
        ("every 5 minutes", "not a Scheduler expression"),
    ],
)
def test_bad_expressions_are_refused_with_what_to_change(text: str, message: str) -> None:
    with pytest.raises(InvalidSchedule, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_expression(text)


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(InvalidSchedule, match="unknown time zone 'Mars/Olympus'"):
        scheduler_expression(CronSchedule(expr="0 9 * * *", tz="Mars/Olympus"), NOW)


def test_openclaw_schedules_map_onto_scheduler_expressions() -> None:
    at = AtSchedule(at=datetime(2025, 3, 29, 12, 5, 30))  # no zone: UTC, as in OpenClaw
    assert scheduler_expression(at, NOW) == ("at(2025-03-29T12:05:30)", "UTC")
    assert scheduler_expression(EverySchedule(every_ms=90 * 60_000), NOW) == ("rate(90 minutes)", "UTC")
    assert scheduler_expression(EverySchedule(every_ms=2 * 3_600_000), NOW) == ("rate(2 hours)", "UTC")
    assert scheduler_expression(EverySchedule(every_ms=86_400_000), NOW) == ("rate(1 day)", "UTC")
    cron = CronSchedule(expr="30 9 * * 1-5", tz="Europe/Berlin")
    assert scheduler_expression(cron, NOW) == ("cron(30 9 ? * 2,3,4,5,6 *)", "Europe/Berlin")
    assert translate_cron("0 0 0 1 * *") == "cron(0 0 1 * ? *)"  # 6 fields: seconds first
    assert translate_cron("0 8 * * 0,7") == "cron(0 8 ? * 1 *)"  # 0 and 7 are both Sunday
    assert translate_cron("cron(0/5 * * * ? *)") == "cron(0/5 * * * ? *)"


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        (AtSchedule(at=NOW - timedelta(seconds=1)), "is in the past"),
        (EverySchedule(every_ms=30_000), "whole minutes, at least 1"),
        (EverySchedule(every_ms=90_000), "whole minutes"),
        (CronSchedule(expr="*/10 * * * * *"), "seconds must be 0"),
        (CronSchedule(expr="0 9 1 * MON"), "EITHER the day of month or the weekday"),
    ],
)
def test_what_scheduler_cannot_express_is_refused(schedule: object, message: str) -> None:
    with pytest.raises(InvalidSchedule, match=message):
        scheduler_expression(schedule, NOW)  # type: ignore[arg-type]  # the three schedule kinds


def test_heartbeat_active_hours_become_a_cron_expression() -> None:
    assert heartbeat_expression(30, None, None) == "rate(30 minutes)"
    assert heartbeat_expression(30, "09:00", "22:00") == "cron(0/30 9-21 * * ? *)"
    assert heartbeat_expression(15, "22:00", "06:00") == "cron(0/15 22-23,0-5 * * ? *)"
    with pytest.raises(InvalidSchedule, match="cannot be expressed"):
        heartbeat_expression(45, "09:00", "17:00")


def test_cron_in_a_time_zone_fires_at_local_wall_time_across_dst() -> None:
    berlin = zone("Europe/Berlin")
    expr = parse_expression("cron(0 9 * * ? *)")
    before = datetime(2025, 3, 29, 9, 0, tzinfo=UTC)  # 10:00 in Berlin (CET), the day before the switch
    first = next_fire(expr, berlin, NOW - timedelta(days=30), before)
    assert first == datetime(2025, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 CEST
    skipped = parse_expression("cron(30 2 * * ? *)")  # 02:30 does not exist on 2025-03-30 in Berlin
    fires = []
    moment = datetime(2025, 3, 28, 0, 0, tzinfo=UTC)
    for _ in range(3):
        moment = next_fire(skipped, berlin, moment - timedelta(days=30), moment)  # type: ignore[assignment]
        fires.append(moment.astimezone(berlin).date().isoformat())
    assert fires == ["2025-03-28", "2025-03-29", "2025-03-31"]


def _brute_matches(expr: Cron, moment: datetime) -> bool:
    return moment.minute in expr.minutes and moment.hour in expr.hours and expr.matches_date(moment.date())


cron_fields = st.tuples(
    st.sampled_from(["0", "*/15", "5,35", "0-10/5", "*"]),
    st.sampled_from(["*", "9", "0-6", "*/6", "12,18"]),
    st.sampled_from(["?", "*", "1", "L", "10-20"]),
    st.sampled_from(["*", "JAN-MAR", "2,8"]),
    st.sampled_from(["MON-FRI", "1", "SAT,SUN", "*"]),
)
moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC))


@settings(max_examples=60, deadline=None)
@given(fields=cron_fields, after=moments)
def test_cron_next_fire_is_the_first_matching_minute_after(
    fields: tuple[str, str, str, str, str], after: datetime
) -> None:
    minute, hour, dom, month, dow = fields
    dom, dow = (dom, "?") if dom != "?" else ("?", dow if dow != "*" else "1")
    expr = parse_expression(f"cron({minute} {hour} {dom} {month} {dow} *)")
    assert isinstance(expr, Cron)
    fire = next_fire(expr, UTC_ZONE, after - timedelta(days=1), after)
    assert fire is not None
    assert fire > after
    assert _brute_matches(expr, fire)
    # Nothing matches in between (checked minute by minute over the last day before the fire).
    probe = max(after, fire - timedelta(days=1)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    while probe < fire:
        assert not _brute_matches(expr, probe), probe
        probe += timedelta(minutes=1)
    # latest_fire at the fire time is the fire itself.
    assert latest_fire(expr, UTC_ZONE, after - timedelta(days=400), fire) == fire


@settings(max_examples=100, deadline=None)
@given(
    minutes=st.integers(min_value=1, max_value=3 * 1440),
    anchor=moments,
    elapsed=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
)
def test_rate_fires_on_its_anchor_grid(minutes: int, anchor: datetime, elapsed: timedelta) -> None:
    expr = parse_expression(f"rate({minutes} {'minute' if minutes == 1 else 'minutes'})")
    now = anchor + elapsed
    period = timedelta(minutes=minutes)
    latest = latest_fire(expr, UTC_ZONE, anchor, now)
    following = next_fire(expr, UTC_ZONE, anchor, now)
    assert following is not None
    assert (following - anchor) % period == timedelta(0)
    assert now < following <= now + period
    if latest is None:
        assert now < anchor + period  # nothing before the first period has passed
    else:
        assert (latest - anchor) % period == timedelta(0)
        assert latest <= now < latest + period
        assert following == latest + period


def test_one_shot_is_due_once_its_time_has_passed_even_long_after() -> None:
    expr = parse_expression("at(2025-03-29T12:00:05)")
    anchor = NOW - timedelta(days=2)
    assert latest_fire(expr, UTC_ZONE, anchor, NOW) is None
    when = datetime(2025, 3, 29, 12, 0, 5, tzinfo=UTC)
    assert latest_fire(expr, UTC_ZONE, anchor, NOW + timedelta(days=3)) == when
    assert next_fire(expr, UTC_ZONE, anchor, when) is None
