"""The FIFO batch rule as a pure function: what leaves the queue, what goes back, and in what order."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from clawbus.bus.errors import AgentRejected
from clawbus.bus.fifo_batch import Handled, Outcome, plan_batch
from clawbus.bus.redrive import DeadLetter, GiveBack
from clawbus.bus.sqs_record import SqsRecord


def record(message_id: str, group: str) -> SqsRecord:
    return SqsRecord(
        message_id=message_id,
        receipt_handle=f"rh-{message_id}",
        body="{}",
        group_id=group,
        dedup_id=message_id,
        receive_count=1,
        sent_at=datetime(2026, 12, 4, tzinfo=UTC),
    )


def test_after_a_give_back_the_rest_of_its_group_goes_back_too_and_other_groups_go_on() -> None:
    batch = [record("a1", "a"), record("b1", "b"), record("a2", "a"), record("b2", "b"), record("a3", "a")]
    refused = AgentRejected("no")
    plan = plan_batch(
        batch,
        {"a1": GiveBack(8), "a2": Handled(), "b1": DeadLetter(refused), "b2": Handled()},
    )
    assert [r.message_id for r in plan.delete] == ["b2"]
    assert [(r.message_id, e) for r, e in plan.dead_letter] == [("b1", refused)]
    assert [(r.message_id, d) for r, d in plan.give_back] == [("a1", 8), ("a2", 0), ("a3", 0)]
    assert plan.item_failures == ["a1", "a2", "a3"]


def test_a_record_that_never_ran_is_given_back_not_deleted() -> None:
    plan = plan_batch([record("a1", "a"), record("b1", "b")], {"a1": Handled()})
    assert [r.message_id for r in plan.delete] == ["a1"]
    assert plan.item_failures == ["b1"]


_OUTCOMES: list[Outcome | None] = [None, Handled(), GiveBack(0), GiveBack(30), DeadLetter(AgentRejected("x"))]


@given(
    st.lists(
        st.tuples(st.sampled_from("abc"), st.sampled_from(range(len(_OUTCOMES)))), min_size=0, max_size=30
    )
)
def test_order_within_a_group_never_breaks_for_any_outcomes(items: list[tuple[str, int]]) -> None:
    batch = [record(f"m{n}", group) for n, (group, _) in enumerate(items)]
    outcomes = {
        f"m{n}": outcome for n, (_, pick) in enumerate(items) if (outcome := _OUTCOMES[pick]) is not None
    }
    plan = plan_batch(batch, outcomes)

    fate = {r.message_id: "gone" for r in plan.delete}
    fate |= {r.message_id: "gone" for r, _ in plan.dead_letter}
    fate |= {r.message_id: "back" for r, _ in plan.give_back}
    assert len(fate) == len(batch) == len(plan.delete) + len(plan.dead_letter) + len(plan.give_back)
    for group in "abc":
        fates = [fate[r.message_id] for r in batch if r.group_id == group]
        # once one record of a group goes back, none after it leaves the queue: SQS redelivers in order
        assert fates == sorted(fates, key=lambda f: f == "back")
    assert plan.item_failures == [r.message_id for r in batch if fate[r.message_id] == "back"]
