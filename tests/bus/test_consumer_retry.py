"""Which failures the consumer retries in process before giving the message back."""

from __future__ import annotations

from clawbus.bus.consumer import ConsumerConfig
from clawbus.bus.errors import TargetGone, Throttled, Unavailable


def test_a_long_retry_after_is_given_back_at_once_instead_of_retried_early() -> None:
    config = ConsumerConfig(stage="egress.telegram", max_inline_wait_s=5.0)
    assert config.retry_in_process(Throttled("slow down", retry_after=2))
    assert not config.retry_in_process(Throttled("slow down", retry_after=30))


def test_retryable_errors_without_a_wait_are_retried_and_permanent_ones_never() -> None:
    config = ConsumerConfig(stage="dispatcher")
    assert config.retry_in_process(Unavailable("502"))
    assert not config.retry_in_process(TargetGone("chat not found"))
    assert not config.retry_in_process(ValueError("unclassified"))
