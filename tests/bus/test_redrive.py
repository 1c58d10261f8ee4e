"""The retry/dead-letter decision."""

from __future__ import annotations

from clawbus.bus.errors import AgentRejected, InvalidEnvelope, Throttled, Unavailable
from clawbus.bus.redrive import DeadLetter, GiveBack, decide


def test_permanent_errors_dead_letter_at_once() -> None:
    assert isinstance(decide(InvalidEnvelope("bad"), receive_count=1, max_receives=5), DeadLetter)
    decision = decide(AgentRejected("no"), receive_count=1, max_receives=5)
    assert isinstance(decision, DeadLetter)
    assert str(decision.error) == "no"


def test_retryable_errors_are_given_back_with_growing_backoff() -> None:
    first = decide(Unavailable("down"), receive_count=1, max_receives=5)
    third = decide(Unavailable("down"), receive_count=3, max_receives=5)
    assert isinstance(first, GiveBack)
    assert isinstance(third, GiveBack)
    assert first.delay_s < third.delay_s


def test_retry_after_from_the_other_side_is_honoured() -> None:
    assert decide(Throttled("slow down", retry_after=42), receive_count=1, max_receives=5) == GiveBack(42)


def test_the_last_receive_dead_letters_with_the_last_error() -> None:
    decision = decide(Unavailable("still down"), receive_count=5, max_receives=5)
    assert isinstance(decision, DeadLetter)
    assert str(decision.error) == "still down"


def test_unclassified_errors_count_as_retryable() -> None:
    assert isinstance(decide(RuntimeError("?"), receive_count=1, max_receives=5), GiveBack)
    last = decide(RuntimeError("?"), receive_count=5, max_receives=5)
    assert isinstance(last, DeadLetter)
    assert "RuntimeError" in str(last.error)
