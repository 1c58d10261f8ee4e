"""Which waiting messages make one turn (`collect` / `followup`): the pure planner."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from clawbus.dispatcher.core import Pending, plan_turns
from clawbus.schemas import AttachmentRef, EventKind, InboundEvent

NOW = 1_000_000


def pending(
    key: str,
    *,
    channel: str = "telegram",
    age_ms: int = 5000,
    kind: EventKind = EventKind.MESSAGE,
    attachment: bool = False,
    receives: int = 1,
    valid: bool = True,
) -> Pending:
    event = InboundEvent(
        event_id=f"{channel}:{key}",
        channel=channel,
        kind=kind,
        session_key="agent:main:main",
        text=key,
        attachments=(AttachmentRef(key="a", media_type="image/png", size=1),) if attachment else (),
    )
    return Pending(key=key, event=event if valid else None, sent_at_ms=NOW - age_ms, receive_count=receives)


def collect(channel: str) -> str:
    return {"slack": "followup"}.get(channel, "collect")


def test_collect_merges_waiting_messages_into_one_turn() -> None:
    plan = plan_turns(
        [pending("a"), pending("b"), pending("c")], mode_for=collect, debounce_ms=1000, cap=10, now_ms=NOW
    )
    assert plan.turns == [["a", "b", "c"]]
    assert plan.defer == []


def test_followup_channels_get_one_turn_per_message() -> None:
    run = [pending("a", channel="slack"), pending("b", channel="slack")]
    assert plan_turns(run, mode_for=collect, debounce_ms=1000, cap=10, now_ms=NOW).turns == [["a"], ["b"]]


def test_cap_splits_long_runs() -> None:
    run = [pending(str(i)) for i in range(5)]
    assert plan_turns(run, mode_for=collect, debounce_ms=0, cap=2, now_ms=NOW).turns == [
        ["0", "1"],
        ["2", "3"],
        ["4"],
    ]


def test_heartbeats_attachments_and_undecodable_messages_stand_alone() -> None:
    run = [
        pending("a"),
        pending("hb", kind=EventKind.HEARTBEAT),
        pending("b"),
        pending("pic", attachment=True),
        pending("bad", valid=False),
        pending("c"),
    ]
    plan = plan_turns(run, mode_for=collect, debounce_ms=0, cap=10, now_ms=NOW)
    assert plan.turns == [["a"], ["hb"], ["b"], ["pic"], ["bad"], ["c"]]


def test_a_fresh_run_waits_for_the_rest_of_the_debounce_once() -> None:
    run = [pending("a", age_ms=900), pending("b", age_ms=100)]
    plan = plan_turns(run, mode_for=collect, debounce_ms=1500, cap=10, now_ms=NOW)
    assert plan.turns == []
    assert plan.defer == ["a", "b"]
    assert plan.defer_s == 2  # 1.4 s rounded up to SQS's whole seconds
    again = [pending("a", age_ms=2500, receives=2), pending("b", age_ms=1700, receives=2)]
    assert plan_turns(again, mode_for=collect, debounce_ms=1500, cap=10, now_ms=NOW).turns == [["a", "b"]]


@given(
    st.lists(st.tuples(st.sampled_from(["telegram", "slack"]), st.booleans(), st.booleans()), max_size=12),
    st.integers(min_value=1, max_value=10),
)
def test_every_message_is_planned_once_in_order(items: list[tuple[str, bool, bool]], cap: int) -> None:
    run = [pending(str(i), channel=c, attachment=a, valid=v) for i, (c, a, v) in enumerate(items)]
    plan = plan_turns(run, mode_for=collect, debounce_ms=0, cap=cap, now_ms=NOW)
    assert [k for turn in plan.turns for k in turn] == [p.key for p in run]
    assert all(1 <= len(turn) <= cap for turn in plan.turns)
