"""The ledger's judgement, on hand-made outcomes (pure, milliseconds)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.chaos.ledger import DeadLetter, Ledger, marker, parse_marker


def ledger_of(**sessions: int) -> Ledger:
    ledger = Ledger()
    for session, count in sessions.items():
        for seq in range(count):
            ledger.accept(session, seq)
    return ledger


def test_every_message_answered_once_in_order_is_ok() -> None:
    verdict = ledger_of(tg1=3, sl2=2).judge([("tg1", 0), ("sl2", 0), ("tg1", 1), ("sl2", 1), ("tg1", 2)], [])
    assert verdict.ok
    assert (verdict.sent, verdict.answered) == (5, 5)
    assert verdict.summary("kill", 4) == (
        "chaos kill: sent=5 faults=4 answered=5 shown_failed=0 lost=0 doubled=0 announced_resends=0 "
        "reordered=0 stray=0 "
        "dead=0 unexpected, 0 missing"
    )


def test_a_missing_answer_is_lost_and_the_check_is_not_settled() -> None:
    verdict = ledger_of(tg1=3).judge([("tg1", 0), ("tg1", 2)], [])
    assert verdict.lost == (("tg1", 1),)
    assert not verdict.ok
    assert not verdict.settled


def test_an_answer_twice_is_doubled() -> None:
    verdict = ledger_of(tg1=2).judge([("tg1", 0), ("tg1", 1), ("tg1", 1)], [])
    assert verdict.doubled == (("tg1", 1),)
    assert verdict.settled
    assert not verdict.ok


def test_an_answer_egress_announced_it_could_not_check_may_show_twice_and_is_counted() -> None:
    """Telegram and WhatsApp cannot say whether an interrupted send arrived: egress posts it again and
    warns. That one message shown twice is the platforms' limit, counted apart; a third copy, or a
    double nobody announced, is not."""
    ledger = ledger_of(tg1=2, wa2=2)
    twice = [("tg1", 0), ("tg1", 0), ("tg1", 1), ("wa2", 0), ("wa2", 1), ("wa2", 1)]
    verdict = ledger.judge(twice, [], announced={("tg1", 0)})
    assert verdict.announced == (("tg1", 0),)
    assert verdict.doubled == (("wa2", 1),)
    assert not verdict.ok
    assert ledger_of(tg1=2).judge(twice[:3], [], announced={("tg1", 0)}).ok
    thrice = ledger_of(tg1=2).judge([("tg1", 0)] * 3 + [("tg1", 1)], [], announced={("tg1", 0)})
    assert thrice.doubled == (("tg1", 0),)


def test_answers_out_of_send_order_are_reordered_per_session() -> None:
    verdict = ledger_of(tg1=2, sl1=2).judge([("tg1", 1), ("sl1", 0), ("tg1", 0), ("sl1", 1)], [])
    assert verdict.reordered == ("tg1",)


def test_a_late_duplicate_of_an_earlier_answer_is_doubled_not_reordered() -> None:
    verdict = ledger_of(tg1=2).judge([("tg1", 0), ("tg1", 1), ("tg1", 0)], [])
    assert verdict.reordered == ()
    assert verdict.doubled == (("tg1", 0),)


def test_an_answer_to_a_message_never_delivered_is_stray() -> None:
    assert ledger_of(tg1=1).judge([("tg1", 0), ("tg1", 5)], []).stray == (("tg1", 5),)


def test_a_message_a_platform_gave_up_retrying_is_still_the_users_message_to_answer() -> None:
    """Telegram, Slack and WhatsApp show the user's message in the chat whatever the webhook answered:
    delivered but never acknowledged, it must be answered once like any other (not a stray)."""
    ledger = ledger_of(sl1=1)
    ledger.deliver("sl1", 1)  # every attempt failed, yet ingress may have enqueued it
    assert ledger.judge([("sl1", 0), ("sl1", 1)], []).ok
    assert ledger.judge([("sl1", 0)], []).lost == (("sl1", 1),)


def test_a_message_shown_to_its_user_as_failed_may_go_unanswered_but_never_twice() -> None:
    """A Discord interaction not acknowledged within 3 s shows the user "did not respond" and is never
    retried: answering it (ingress had enqueued it) and not answering it are both right; twice is not."""
    ledger = ledger_of(dc1=1)
    ledger.deliver("dc1", 1)
    ledger.shown_as_failed("dc1", 1)
    assert ledger.judge([("dc1", 0)], []).ok
    assert ledger.judge([("dc1", 0), ("dc1", 1)], []).ok
    assert ledger.judge([("dc1", 0), ("dc1", 1), ("dc1", 1)], []).doubled == (("dc1", 1),)


def test_a_late_answer_to_a_message_shown_as_failed_does_not_count_as_reordered() -> None:
    """Discord drops the answer to an interaction not acknowledged in time (its token is invalidated):
    where the stand-in receives it says nothing about the order the user sees. The others still count."""
    ledger = ledger_of(dc1=1)
    ledger.deliver("dc1", 1)
    ledger.shown_as_failed("dc1", 1)
    ledger.accept("dc1", 2)
    assert ledger.judge([("dc1", 0), ("dc1", 2), ("dc1", 1)], []).ok
    assert ledger.judge([("dc1", 2), ("dc1", 0)], []).reordered == ("dc1",)


def test_other_scenarios_sessions_are_not_judged() -> None:
    verdict = ledger_of(tg1=1).judge([("tg1", 0), ("wa9", 0), ("wa9", 0)], [DeadLetter("sl4", 0, "X")])
    assert verdict.ok
    assert verdict.answered == 1


def test_dead_letters_must_be_the_expected_ones_with_their_reason() -> None:
    ledger = ledger_of(tg1=3)
    ledger.expect_dead("tg1", 1, "AgentRejected")
    fine = ledger.judge([("tg1", 0), ("tg1", 2)], [DeadLetter("tg1", 1, "AgentRejected")])
    assert fine.ok
    missing = ledger.judge([("tg1", 0), ("tg1", 2)], [])
    assert missing.dead_missing == (("tg1", 1),)
    assert not missing.settled
    wrong = ledger.judge([("tg1", 0), ("tg1", 2)], [DeadLetter("tg1", 1, "Unavailable")])
    assert wrong.dead_wrong_reason == (DeadLetter("tg1", 1, "Unavailable"),)
    unexpected = ledger.judge(
        [("tg1", 0), ("tg1", 2)], [DeadLetter("tg1", 1, "AgentRejected"), DeadLetter("tg1", 0, "X")]
    )
    assert unexpected.dead_unexpected == (DeadLetter("tg1", 0, "X"),)
    answered_anyway = ledger.judge(
        [("tg1", 0), ("tg1", 1), ("tg1", 2)], [DeadLetter("tg1", 1, "AgentRejected")]
    )
    assert answered_anyway.stray == (("tg1", 1),)


def test_a_replayed_dead_letter_must_then_be_answered() -> None:
    ledger = ledger_of(tg1=1)
    ledger.expect_dead("tg1", 0, "AgentRejected")
    ledger.replayed("tg1", 0)
    assert ledger.judge([], []).lost == (("tg1", 0),)
    assert ledger.judge([("tg1", 0)], []).ok


@given(st.from_regex(r"[a-z]{1,5}[0-9]{1,4}", fullmatch=True), st.integers(0, 10**6), st.text(max_size=30))
def test_a_marker_is_found_again_inside_any_reply_text(session: str, seq: int, around: str) -> None:
    text = f"(native · offline echo · turn 1) You said: {around} {marker(session, seq)} {around}"
    found = parse_marker(text)
    if parse_marker(around) is None:
        assert found == (session, seq)


def test_session_names_that_could_not_be_parsed_back_are_refused() -> None:
    with pytest.raises(ValueError, match="letters then digits"):
        marker("Tg-1", 0)
