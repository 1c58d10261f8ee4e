"""Which failures a call site retries in process, and how long it waits: `RetryPolicy.decide`."""

from __future__ import annotations

import pytest

from clawbus.bus.errors import TargetGone, Throttled, Unavailable
from clawbus.bus.retry import GiveUp, RetryIn, RetryPolicy


def test_a_long_retry_after_is_given_back_at_once_instead_of_retried_early() -> None:
    policy = RetryPolicy(attempts=3, max_inline_wait_s=5.0)
    assert policy.decide(Throttled("slow down", retry_after=2), 1) == RetryIn(2)
    assert policy.decide(Throttled("slow down", retry_after=30), 1) == GiveUp()


def test_retryable_errors_without_a_wait_are_retried_and_permanent_ones_never() -> None:
    policy = RetryPolicy(attempts=3)
    assert isinstance(policy.decide(Unavailable("502"), 1), RetryIn)
    assert policy.decide(TargetGone("chat not found"), 1) == GiveUp()
    assert policy.decide(ValueError("unclassified"), 1) == GiveUp()


def test_backoff_doubles_up_to_its_cap_and_the_last_attempt_gives_up() -> None:
    policy = RetryPolicy(attempts=5, base_s=0.5, max_s=1.5)
    waits = [policy.decide(Unavailable("502"), attempt) for attempt in range(1, 6)]
    assert waits == [RetryIn(0.5), RetryIn(1.0), RetryIn(1.5), RetryIn(1.5), GiveUp()]


async def test_run_tries_exactly_attempts_times_then_raises_the_last_error() -> None:
    calls: list[int] = []

    async def always_down() -> str:
        calls.append(1)
        raise Unavailable(f"502 #{len(calls)}")

    policy = RetryPolicy(attempts=3, base_s=0.0)
    with pytest.raises(Unavailable, match="502 #3"):
        await policy.run(always_down)
    assert len(calls) == 3


async def test_run_returns_the_first_success() -> None:
    answers = iter([Unavailable("502"), "ok"])

    async def flaky() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert await RetryPolicy(attempts=3, base_s=0.0).run(flaky) == "ok"
