"""Steering at the dispatcher (issue 21), pure: when a message's mid-turn copy acts, and which events a
turn's ledger record covers once messages were steered into it."""

from __future__ import annotations

import pytest

from clawbus.dispatcher.core.control_commands import mid_turn_action
from clawbus.dispatcher.steered import recorded_event_ids


@pytest.mark.parametrize(
    ("copy", "running", "mode", "action"),
    [
        ("steer", True, "steer", "steer"),
        ("steer", True, "interrupt", "interrupt"),  # the session's /queue interrupt wins
        ("interrupt", True, "steer", "steer"),
        ("steer", True, "followup", None),  # the session chose followup: the FIFO copy alone
        ("steer", True, "collect", None),
        ("steer", False, "steer", None),  # no turn runs here: no request at all
        ("interrupt", False, "interrupt", None),
        ("stop", True, "steer", None),
    ],
)
def test_a_mid_turn_copy_acts_only_on_a_running_turn_in_a_steer_or_interrupt_session(
    copy: str, running: bool, mode: str, action: str | None
) -> None:
    assert mid_turn_action(copy, running=running, mode=mode) == action


def test_a_turns_record_covers_its_own_events_then_the_steered_ones_once() -> None:
    assert recorded_event_ids(["a", "b"], ["c", "b", "c"]) == ["a", "b", "c"]
    assert recorded_event_ids(["a"], []) == ["a"]
