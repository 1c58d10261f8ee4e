"""Which waiting messages make one turn (`collect` / `followup`): the pure planner."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from clawbus.dispatcher.core import Pending, plan_turns, waits_in_place
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


def test_a_run_queued_behind_a_turn_waits_for_the_rest_of_the_debounce_once() -> None:
    # both were sent before the session's last turn ended (busy_until_ms): queued behind it
    run = [pending("a", age_ms=900), pending("b", age_ms=100)]
    plan = plan_turns(run, mode_for=collect, debounce_ms=1500, cap=10, now_ms=NOW, busy_until_ms=NOW - 50)
    assert plan.turns == []
    assert plan.defer == ["a", "b"]
    assert plan.defer_s == 2  # 1.4 s rounded up to SQS's whole seconds
    assert (plan.debounce_ms, plan.queued) == (1400, 2)
    again = [pending("a", age_ms=2500, receives=2), pending("b", age_ms=1700, receives=2)]
    plan = plan_turns(again, mode_for=collect, debounce_ms=1500, cap=10, now_ms=NOW, busy_until_ms=NOW - 1650)
    assert plan.turns == [["a", "b"]]


def test_only_a_run_that_nothing_later_could_join_waits_its_debounce_in_place() -> None:
    """A deferred run waits in the dispatcher (no give-back) when no later message could join its
    turns: every message under `followup` or `steer`, or never merged; `collect` goes back to the queue,
    as does a debounce over 2 s or an undecodable message."""
    run = [pending("a", channel="slack"), pending("b", channel="slack")]
    assert waits_in_place(run, collect, 500)  # slack: followup
    assert waits_in_place([pending("h", kind=EventKind.HEARTBEAT)], collect, 500)  # never merged
    assert not waits_in_place([*run, pending("c")], collect, 500)  # telegram: collect
    assert not waits_in_place(run, collect, 2_001)
    assert not waits_in_place(run, collect, 0)  # nothing to wait
    assert not waits_in_place([pending("x", channel="slack", valid=False)], collect, 500)
    for mode in ("followup", "steer"):
        queued = [pending(k, age_ms=age) for k, age in (("a", 400), ("b", 100))]
        options: dict[str, Any] = {"mode_for": lambda _c, m=mode: m, "debounce_ms": 500, "cap": 20}
        deferred = plan_turns(queued, now_ms=NOW, busy_until_ms=NOW - 50, **options)
        assert (deferred.defer, deferred.debounce_ms) == (["a", "b"], 100)  # the first turn's: a, 400 ms old
        assert waits_in_place(queued, options["mode_for"], deferred.debounce_ms)
        # planned as at the end of the debounce: the same turns as after a give-back
        after = plan_turns(queued, now_ms=NOW + 100, busy_until_ms=NOW - 50, **options)
        assert (after.turns, after.defer) == ([["a"], ["b"]], [])


def test_a_message_to_an_idle_session_starts_its_turn_at_once() -> None:
    # issue 21: no turn of the session ran lately (or it ended before the message was sent)
    for busy_until in (None, NOW - 200):
        for mode in ("steer", "followup", "collect", "interrupt"):
            plan = plan_turns(
                [pending("a", age_ms=100)],
                mode_for=lambda _c, m=mode: m,
                debounce_ms=500,
                cap=20,
                now_ms=NOW,
                busy_until_ms=busy_until,
            )
            assert (plan.turns, plan.defer, plan.debounce_ms) == ([["a"]], [], 0), (mode, busy_until)


def _queued(mode: str, keys: str, **kwargs: Any) -> Any:
    """Plan `keys` (one message each, oldest first) queued behind a turn that ended 10 ms ago."""
    run = [pending(k, age_ms=3000 - i) for i, k in enumerate(keys)]
    options = {"debounce_ms": 500, "cap": 20, **kwargs}
    return plan_turns(run, mode_for=lambda _c: mode, now_ms=NOW, busy_until_ms=NOW - 10, **options)


def test_followup_answers_each_queued_message_in_its_own_turn() -> None:
    assert _queued("followup", "abc").turns == [["a"], ["b"], ["c"]]


def test_steer_falls_back_to_followup_once_the_turn_has_ended() -> None:
    assert _queued("steer", "abc").turns == [["a"], ["b"], ["c"]]


def test_collect_answers_the_queued_messages_in_one_turn() -> None:
    assert _queued("collect", "abc").turns == [["a", "b", "c"]]


def test_interrupt_answers_only_the_newest_message_and_drops_the_rest() -> None:
    plan = _queued("interrupt", "abc")
    assert (plan.turns, plan.dropped, plan.defer) == ([["c"]], ["a", "b"], [])


def test_interrupt_keeps_the_newest_message_of_each_route() -> None:
    run = [
        pending("a", chat="1", age_ms=30),
        pending("b", chat="2", age_ms=20),
        pending("c", chat="1", age_ms=10),
    ]
    plan = plan_turns(
        run, mode_for=lambda _c: "interrupt", debounce_ms=0, cap=20, now_ms=NOW, busy_until_ms=NOW
    )
    assert (plan.turns, plan.dropped) == ([["b"], ["c"]], ["a"])
    # messages that reached an idle session together (a replay of letters, say) are all answered
    plan = plan_turns(run, mode_for=lambda _c: "interrupt", debounce_ms=0, cap=20, now_ms=NOW)
    assert (plan.turns, plan.dropped) == ([["a"], ["b"], ["c"]], [])


def test_over_the_cap_drop_old_drops_the_oldest_queued_messages() -> None:
    plan = _queued("followup", "abcde", cap=3, drop="old")
    assert (plan.turns, plan.dropped) == ([["c"], ["d"], ["e"]], ["a", "b"])


def test_over_the_cap_drop_new_drops_the_newest_queued_messages() -> None:
    plan = _queued("followup", "abcde", cap=3, drop="new")
    assert (plan.turns, plan.dropped) == ([["a"], ["b"], ["c"]], ["d", "e"])


def test_over_the_cap_summarize_answers_the_overflow_together() -> None:
    plan = _queued("followup", "abcde", cap=3, drop="summarize")
    assert (plan.turns, plan.dropped) == ([["a", "b"], ["c"], ["d"], ["e"]], [])


def test_control_commands_are_never_merged() -> None:
    run = [pending("a"), pending("b"), pending("c")]
    stop = run[1].event.model_copy(update={"control": "stop"}) if run[1].event else None
    run[1] = Pending(key="b", event=stop, sent_at_ms=run[1].sent_at_ms, receive_count=1)
    assert plan_turns(run, mode_for=collect, debounce_ms=0, cap=10, now_ms=NOW).turns == [["a"], ["b"], ["c"]]


@given(
    st.lists(
        st.tuples(st.sampled_from(["telegram", "slack"]), st.booleans(), st.integers(0, 3000)), max_size=12
    ),
    st.sampled_from(["steer", "followup", "collect", "interrupt"]),
    st.integers(min_value=1, max_value=25),
    st.sampled_from(["old", "new", "summarize"]),
    st.one_of(st.none(), st.integers(0, 3000)),
)
def test_every_message_is_in_one_turn_or_dropped_in_every_mode(
    items: list[tuple[str, bool, int]], mode: str, cap: int, drop: str, busy_ago: int | None
) -> None:
    run = [pending(str(i), channel=c, attachment=a, age_ms=age) for i, (c, a, age) in enumerate(items)]
    plan = plan_turns(
        run,
        mode_for=lambda _c: mode,
        debounce_ms=0,
        cap=cap,
        now_ms=NOW,
        busy_until_ms=None if busy_ago is None else NOW - busy_ago,
        drop=drop,
    )
    planned = [k for turn in plan.turns for k in turn]
    assert sorted(planned + plan.dropped, key=int) == [p.key for p in run]
    assert planned == sorted(planned, key=int)
    assert all(not p.event or not p.event.attachments for p in run if p.key in plan.dropped)


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


def test_a_turn_started_before_a_crash_is_planned_again_as_it_was() -> None:
    # The dispatcher invoked the agent for [a, b] and died before the turn ledger's write; a, b come
    # back with c, which arrived meanwhile. a and b make their recorded turn again; c comes after it.
    run = [pending("a", receives=2), pending("b", receives=2), pending("c")]
    recorded = {"telegram:a": "rp-ab", "telegram:b": "rp-ab"}
    plan = plan_turns(run, mode_for=collect, debounce_ms=0, cap=10, now_ms=NOW, recorded=recorded)
    assert plan.turns == [["a", "b"], ["c"]]
    # A fresh c does not defer the recorded turn (it is a re-run: nobody is still typing it).
    plan = plan_turns(
        [pending("a", receives=1), pending("b", receives=1), pending("c", age_ms=10)],
        mode_for=collect,
        debounce_ms=1500,
        cap=10,
        now_ms=NOW,
        recorded=recorded,
    )
    assert plan.turns == [["a", "b"], ["c"]]


def test_a_recorded_turn_keeps_its_composition_over_the_cap_and_routes() -> None:
    # Recorded with a cap of 3 and now planned with a cap of 2; and a one-message turn stays alone.
    run = [pending("a"), pending("b"), pending("c"), pending("d"), pending("e")]
    recorded = {"telegram:a": "rp-abc", "telegram:b": "rp-abc", "telegram:c": "rp-abc", "telegram:d": "rp-d"}
    plan = plan_turns(run, mode_for=collect, debounce_ms=0, cap=2, now_ms=NOW, recorded=recorded)
    assert plan.turns == [["a", "b", "c"], ["d"], ["e"]]


# A segment of a run: (True, channels of a recorded turn's messages) or (False, one message's channel,
# attachment?, decodes?).


@given(
    st.lists(
        st.one_of(
            st.tuples(
                st.just(True), st.lists(st.sampled_from(["telegram", "slack"]), min_size=1, max_size=4)
            ),
            st.tuples(
                st.just(False),
                st.tuples(st.sampled_from(["telegram", "slack"]), st.booleans(), st.booleans()),
            ),
        ),
        max_size=10,
    ),
    st.integers(min_value=1, max_value=10),
    st.integers(min_value=0, max_value=3000),
)
def test_recorded_turns_are_never_split_or_extended(
    segments: list[tuple[bool, Any]], cap: int, debounce_ms: int
) -> None:
    run: list[Pending] = []
    recorded: dict[str, str] = {}
    compositions: list[list[str]] = []
    for number, segment in enumerate(segments):
        is_recorded, spec = segment
        if is_recorded:
            keys = []
            for channel in spec:
                item = pending(f"{len(run)}", channel=channel, receives=2, age_ms=10)
                recorded[f"{channel}:{item.key}"] = f"rp-{number}"
                keys.append(item.key)
                run.append(item)
            compositions.append(keys)
        else:
            channel, attachment, valid = spec
            run.append(pending(f"{len(run)}", channel=channel, attachment=attachment, valid=valid))
    plan = plan_turns(run, mode_for=collect, debounce_ms=debounce_ms, cap=cap, now_ms=NOW, recorded=recorded)
    if plan.defer:  # only a fresh run whose first turn is not recorded waits for the debounce
        assert plan.turns == []
        assert plan.defer == [p.key for p in run]
        assert not any(run[0].key in c for c in compositions)
        return
    assert [k for turn in plan.turns for k in turn] == [p.key for p in run]  # each once, in order
    for composition in compositions:
        assert composition in plan.turns  # one turn of exactly its messages: not split, not extended
    for turn in plan.turns:
        if not any(turn == c for c in compositions):
            assert 1 <= len(turn) <= cap
