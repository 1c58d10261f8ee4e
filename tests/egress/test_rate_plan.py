"""Pacing sends under the platforms' per-chat and per-bot limits."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from clawbus.channels.telegram.outbound import PROFILE as TELEGRAM
from clawbus.egress.core import Limit, RatePlan


def _send_all(plan: RatePlan, chats: list[str], start: float = 0.0) -> list[float]:
    """Send to each chat in turn as early as the plan allows; the send times."""
    now, times = start, []
    for chat in chats:
        scopes = TELEGRAM.scopes(chat)
        now += plan.delay(scopes, now)
        plan.record(scopes, now)
        times.append(now)
    return times


def test_one_telegram_chat_gets_at_most_one_message_a_second() -> None:
    times = _send_all(RatePlan(), ["42"] * 4)
    assert times == [0.0, 1.0, 2.0, 3.0]


def test_other_chats_are_not_held_up_by_a_busy_one() -> None:
    times = _send_all(RatePlan(), ["1", "1", "2"])
    assert times == [0.0, 1.0, 1.0]


def test_a_telegram_group_gets_at_most_twenty_a_minute() -> None:
    times = _send_all(RatePlan(), ["-100"] * 21)
    assert times[19] == 19.0
    assert times[20] == 60.0


def test_a_429_holds_the_scope_until_the_platform_said() -> None:
    plan = RatePlan()
    scopes = TELEGRAM.scopes("7")
    plan.hold(scopes, until=12.5)
    assert plan.delay(scopes, now=2.0) == 10.5
    assert plan.delay(scopes, now=12.5) == 0.0


@given(
    chats=st.lists(st.sampled_from(["1", "2", "-3"]), max_size=80),
    count=st.integers(1, 5),
    period=st.floats(0.5, 10),
)
@settings(max_examples=200, deadline=None)
def test_no_window_ever_holds_more_than_its_count(chats: list[str], count: int, period: float) -> None:
    plan, now, sent = RatePlan(), 0.0, []
    for chat in chats:
        scopes = [(f"chat:{chat}", Limit(count, period))]
        now += plan.delay(scopes, now)
        plan.record(scopes, now)
        sent.append((chat, now))
    for chat, at in sent:
        window = [t for c, t in sent if c == chat and at <= t < at + period - 1e-9]
        assert len(window) <= count
