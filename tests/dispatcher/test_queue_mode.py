"""Which waiting messages make one turn (`collect` / `followup`): the pure planner."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from clawbus.dispatcher.core import Pending, plan_turns
from clawbus.dispatcher.core.queue_mode import route_key
from clawbus.schemas import AttachmentRef, EventKind, InboundEvent, ReplyTarget

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
    chat: str | None = None,
    thread: str | None = None,
    account: str = "default",
) -> Pending:
    event = InboundEvent(
        event_id=f"{channel}:{key}",
        channel=channel,
        account_id=account,
        kind=kind,
        session_key="agent:main:main",
        text=key,
        attachments=(AttachmentRef(key="a", media_type="image/png", size=1),) if attachment else (),
        reply_to=ReplyTarget(chat_id=chat, thread_id=thread, reply_to_message_id=key) if chat else None,
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


def test_collect_merges_only_messages_that_came_by_the_same_route() -> None:
    # dmScope=main: DMs from three channels share the session, and each is answered in its own chat.
    run = [
        pending("tg1", channel="telegram", chat="42"),
        pending("tg2", channel="telegram", chat="42"),
        pending("wa", channel="whatsapp", chat="4915112345678"),
        pending("tg3", channel="telegram", chat="42"),
        pending("dc", channel="discord", chat="42"),
        pending("thread", channel="discord", chat="42", thread="7"),
        pending("other-bot", channel="discord", chat="42", thread="7", account="second"),
        pending("other-bot-2", channel="discord", chat="42", thread="7", account="second"),
    ]
    plan = plan_turns(run, mode_for=collect, debounce_ms=0, cap=10, now_ms=NOW)
    assert plan.turns == [["tg1", "tg2"], ["wa"], ["tg3"], ["dc"], ["thread"], ["other-bot", "other-bot-2"]]


ROUTES = [
    ("telegram", "42", None),
    ("telegram", "42", "9"),
    ("whatsapp", "4915", None),
    ("discord", "7", None),
]


@given(
    st.lists(st.tuples(st.integers(0, len(ROUTES) - 1), st.booleans(), st.booleans()), max_size=14),
    st.integers(min_value=1, max_value=10),
)
def test_every_message_is_answered_on_its_own_route(items: list[tuple[int, bool, bool]], cap: int) -> None:
    run = []
    for i, (route, attachment, valid) in enumerate(items):
        channel, chat, thread = ROUTES[route]
        run.append(
            pending(str(i), channel=channel, chat=chat, thread=thread, attachment=attachment, valid=valid)
        )
    plan = plan_turns(run, mode_for=collect, debounce_ms=0, cap=cap, now_ms=NOW)
    by_key = {p.key: p.event for p in run}
    assert [k for turn in plan.turns for k in turn] == [p.key for p in run]
    for turn in plan.turns:
        # A turn is answered on its last message's route: every message in it must share that route.
        answered_on = by_key[turn[-1]]
        for key in turn:
            event = by_key[key]
            assert event is not None or len(turn) == 1
            if event is not None and answered_on is not None:
                assert route_key(event) == route_key(answered_on)
