"""What a turn's progress draft says and when it is published (`dispatcher/core/progress_plan.py`)."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from clawbus.dispatcher.core.progress_plan import WAKING, WORKING, DraftTiming, ProgressPlan

TIMING = DraftTiming(show_after_s=0.7, every_s=1.0, cold_after_s=2.0)


def plan() -> ProgressPlan:
    return ProgressPlan(100.0, TIMING)


def test_a_quick_turn_shows_no_draft() -> None:
    p = plan()
    p.first_byte(100.05)
    assert p.due(100.5) is None
    assert p.next_at(100.5) == 100.7


def test_the_draft_appears_after_show_after_then_only_when_it_changes() -> None:
    p = plan()
    p.first_byte(100.05)
    assert p.due(100.7) == WORKING
    assert p.due(101.9) is None  # nothing new
    assert p.next_at(101.9) is None  # and nothing to wait for


def test_tool_lines_within_a_second_are_coalesced_and_the_latest_wins() -> None:
    p = plan()
    p.tool("", 100.01)
    assert p.due(100.7) == WORKING
    p.tool("🔎 fetching example.com", 100.8)
    assert p.due(100.8) is None  # too soon after the last update
    p.tool("📝 writing notes.md", 101.2)
    assert p.next_at(101.2) == 101.7
    assert p.due(101.7) == f"{WORKING}\n🔎 fetching example.com\n📝 writing notes.md"
    assert p.published == 2


def test_a_cold_start_says_waking_up_until_the_first_byte() -> None:
    p = plan()
    assert p.due(100.7) == WORKING
    assert p.next_at(100.7) == 102.0  # when it would turn cold
    assert p.due(102.0) == WAKING
    p.first_byte(103.5)
    assert p.due(103.5) == WORKING  # awake: the draft says so
    assert p.next_at(103.5) is None


def test_the_draft_keeps_the_latest_five_tool_lines() -> None:
    p = plan()
    for n in range(8):
        p.tool(f"line {n}", 100.1 + n / 100)
    assert p.due(100.7) == "\n".join([WORKING, *(f"line {n}" for n in range(3, 8))])


@given(st.lists(st.tuples(st.floats(0, 30), st.booleans()), max_size=60))
def test_never_more_than_one_update_a_second(events: list[tuple[float, bool]]) -> None:
    p = plan()
    published: list[float] = []
    for offset, is_tool in sorted(events):
        now = 100.0 + offset
        if is_tool:
            p.tool(f"tool at {offset}", now)
        if p.due(now) is not None:
            published.append(now)
    assert all(b - a >= TIMING.every_s for a, b in itertools.pairwise(published))
    assert all(t >= 100.0 + TIMING.show_after_s for t in published)
