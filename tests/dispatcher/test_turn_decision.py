"""The turn as a decision: what a unit of events becomes, decided without AWS (core/turn_decision.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from clawbus.dispatcher.core import Route
from clawbus.dispatcher.core.turn_decision import (
    ALREADY_ANSWERED,
    NO_LAST_ROUTE,
    decide_turn,
    publications_to_send,
    route_to_look_up,
)
from clawbus.dispatcher.ledger import Publication, StoredTurn
from clawbus.schemas import Access, EventKind, Handoff, InboundEvent, Peer, PeerKind, ReplyTarget

MAIN = "agent:main:main"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
SAVED = Route("telegram", "default", ReplyTarget(chat_id="saved"))


def dm(n: int, *, access: Access = Access.ALLOWED, channel: str = "telegram") -> InboundEvent:
    return InboundEvent(
        event_id=f"{channel}:{n}",
        channel=channel,
        session_key=MAIN,
        peer=Peer(kind=PeerKind.DIRECT, id=f"chat{n}"),
        text="hello",
        reply_to=ReplyTarget(chat_id=f"chat{n}"),
        access=access,
        received_at=NOW,
    )


def heartbeat(n: int, delivery: Handoff | None = None) -> InboundEvent:
    return InboundEvent(
        event_id=f"heartbeat:{n}",
        kind=EventKind.HEARTBEAT,
        channel="heartbeat",
        session_key=MAIN,
        delivery=delivery,
        received_at=NOW,
    )


def publication(dedup_id: str) -> Publication:
    return Publication(body="{}", channel="telegram", kind="final", group_id="g", dedup_id=dedup_id)


def stored(reply_id: str) -> StoredTurn:
    return StoredTurn(reply_id, (publication(reply_id),))


_deliveries = st.sampled_from(
    [
        None,
        Handoff(mode="none"),
        Handoff(mode="announce"),
        Handoff(mode="announce", channel="slack", to="C1"),
    ]
)


@st.composite
def units(draw: st.DrawFn) -> tuple[list[InboundEvent], dict[str, StoredTurn]]:
    """A unit of DMs (trusted or not) and heartbeats, and the ledger's turns for some of its events."""
    events = []
    for n in range(draw(st.integers(min_value=1, max_value=6))):
        if draw(st.booleans()):
            events.append(dm(n, access=draw(st.sampled_from([Access.ALLOWED, Access.OPEN, Access.OWNER]))))
        else:
            events.append(heartbeat(n, draw(_deliveries)))
    answered = draw(st.lists(st.sampled_from(events), unique=True))
    turns = [stored(f"r{draw(st.integers(min_value=0, max_value=2))}") for _ in answered]
    return events, {e.event_id: turn for e, turn in zip(answered, turns, strict=True)}


@given(units(), st.one_of(st.none(), st.just(SAVED)), st.booleans())
def test_every_event_is_answered_once_either_by_its_stored_turn_or_by_the_new_one(
    unit: tuple[list[InboundEvent], dict[str, StoredTurn]], known: Route | None, streaming: bool
) -> None:
    events, done = unit
    plan = decide_turn(events, done, known, block_streaming=streaming)
    assert [e.event_id for e in plan.events] == [e.event_id for e in events if e.event_id not in done]
    assert sorted(t.reply_id for t in plan.republish) == sorted({t.reply_id for t in done.values()})
    if plan.request is None:
        assert plan.skip_reason == ALREADY_ANSWERED
        assert not plan.events
        return
    assert plan.skip_reason is None
    assert plan.request.events == plan.events
    last = plan.events[-1]
    assert plan.show_presence is (last.kind is EventKind.MESSAGE)
    assert plan.stream is (streaming and plan.target is not None)
    if last.kind is EventKind.MESSAGE:
        assert plan.target is not None
        assert plan.target.target.chat_id == last.peer.id
    if plan.target is None and last.delivery is None:
        assert plan.undelivered_reason == NO_LAST_ROUTE


@given(units())
def test_the_route_is_read_only_for_a_scheduled_turn_that_needs_it_and_does_not_move_it(
    unit: tuple[list[InboundEvent], dict[str, StoredTurn]],
) -> None:
    events, done = unit
    asks = route_to_look_up(events, done)
    plan = decide_turn(events, done, None, block_streaming=False)
    if asks is not None:
        assert asks is plan.events[-1]
        assert asks.kind is EventKind.HEARTBEAT
        assert plan.remember_route is None


def test_a_heartbeat_without_a_target_goes_to_the_last_route_read() -> None:
    events = [heartbeat(1)]
    assert route_to_look_up(events, {}) is events[0]
    plan = decide_turn(events, {}, SAVED, block_streaming=False)
    assert plan.target == SAVED
    assert plan.undelivered_reason is None
    assert not plan.show_presence
    assert plan.history_reports_delivery


def test_a_heartbeat_with_no_route_anywhere_runs_but_is_not_delivered() -> None:
    plan = decide_turn([heartbeat(1)], {}, None, block_streaming=True)
    assert plan.request is not None
    assert plan.target is None
    assert plan.undelivered_reason == NO_LAST_ROUTE
    assert not plan.stream


def test_a_heartbeat_after_a_trusted_dm_in_the_same_unit_goes_to_that_dm() -> None:
    events = [dm(1), heartbeat(2)]
    assert route_to_look_up(events, {}) is None  # the turn moves the route: nothing to read
    plan = decide_turn(events, {}, None, block_streaming=False)
    moved = Route("telegram", "default", ReplyTarget(chat_id="chat1"))
    assert plan.remember_route == moved
    assert plan.target == moved


def test_a_silent_heartbeat_reports_no_delivery_to_the_cron_history() -> None:
    plan = decide_turn([heartbeat(1, Handoff(mode="none"))], {}, SAVED, block_streaming=False)
    assert plan.target is None
    assert plan.undelivered_reason is None
    assert not plan.history_reports_delivery


def test_an_open_dm_is_answered_in_place_and_moves_no_route() -> None:
    plan = decide_turn([dm(1, access=Access.OPEN)], {}, None, block_streaming=True)
    assert plan.remember_route is None
    assert plan.target == Route("telegram", "default", ReplyTarget(chat_id="chat1"))
    assert plan.show_presence
    assert plan.stream


def test_a_unit_answered_before_republishes_each_stored_reply_once_and_runs_nothing() -> None:
    events = [dm(1), dm(2), dm(3)]
    done = {"telegram:1": stored("r1"), "telegram:2": stored("r1"), "telegram:3": stored("r2")}
    plan = decide_turn(events, done, None, block_streaming=False)
    assert plan.request is None
    assert plan.skip_reason == ALREADY_ANSWERED
    assert [t.reply_id for t in plan.republish] == ["r1", "r2"]


def test_what_goes_out_after_the_ledger_answered() -> None:
    plain = decide_turn([dm(1)], {}, None, block_streaming=False)
    streamed = decide_turn([dm(1)], {}, None, block_streaming=True)
    assert plain.request is not None
    assert streamed.request is not None
    ours = (publication("b0"), publication("b1"))
    mine = StoredTurn(streamed.request.reply_id, ours)
    earlier = StoredTurn("earlier", (publication("e0"),))
    assert publications_to_send(plain, ours, StoredTurn(plain.request.reply_id, ours)) == ours
    assert publications_to_send(plain, ours, earlier) == earlier.publications
    assert publications_to_send(streamed, ours, mine) == ()  # sent block by block already
    assert publications_to_send(streamed, ours, earlier) == earlier.publications
