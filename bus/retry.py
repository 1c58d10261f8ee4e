"""One retry policy per call site, none stacked: a pure decision plus a runner around tenacity.

Retries used to nest: a chunk's post was tried 5 times inline, the consumer retried the whole message 3
times, and SQS redelivered it 5 times (75 posts). Now each call site owns exactly one policy and the
queue's redrive (`topology.DLQ_MAX_RECEIVE_COUNT` receives) is the only outer loop:

- the platform post (`egress/chunked_sender.py`'s `PLATFORM_POST`): inline, 429s waited through the pacer;
- the AgentCore invoke (`dispatcher/agentcore.py`): an explicit policy of `dispatcher.max_attempts`;
- AWS API calls: botocore's own standard retries (`bus/aws.py`), nothing on top;
- `FifoConsumer`: one attempt per receive; a retryable failure gives the message back to the queue.

docs/reliability.md states the resulting budget per call site. `decide` is pure (no clock, no jitter:
the same error and attempt give the same answer), so it is tested directly; `run` feeds it to tenacity,
which does the sleeping without blocking the loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, stop_never

from clawbus.bus.errors import RetryableError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryIn:
    """Try again after `seconds`."""

    seconds: float


@dataclass(frozen=True)
class GiveUp:
    """Stop retrying here: raise the error to the caller (the consumer gives the message back)."""


RetryDecision = RetryIn | GiveUp


@dataclass(frozen=True)
class RetryPolicy:
    """How often one call is tried in process, and how long to wait between tries.

    `attempts` counts every try (1 means no retry). A retryable error that names its own wait
    (`retry_after`) waits exactly that long, unless it is longer than `max_inline_wait_s`: then waiting
    in process would hold a worker for nothing, so the policy gives up and the consumer gives the
    message back to the queue for that long. Other retryable errors back off exponentially from
    `base_s` up to `max_s`. Anything else (permanent or unclassified) is never retried here.
    """

    attempts: int
    base_s: float = 0.2
    max_s: float = 5.0
    max_inline_wait_s: float = 5.0

    def decide(self, error: BaseException, attempt: int) -> RetryDecision:
        """After try number `attempt` (from 1) failed with `error`: retry in how long, or give up."""
        if attempt >= self.attempts or not isinstance(error, RetryableError):
            return GiveUp()
        if error.retry_after is not None:
            if error.retry_after > self.max_inline_wait_s:
                return GiveUp()
            return RetryIn(max(0.0, error.retry_after))
        return RetryIn(min(self.max_s, self.base_s * 2 ** (attempt - 1)))

    async def run(
        self,
        call: Callable[[], Awaitable[T]],
        *,
        on_retry: Callable[[BaseException, int], None] | None = None,
    ) -> T:
        """Await `call()` until it succeeds or `decide` gives up (then its last error is raised)."""

        def retry(state: RetryCallState) -> bool:
            error = state.outcome.exception() if state.outcome else None
            if error is None or isinstance(self.decide(error, state.attempt_number), GiveUp):
                return False
            if on_retry is not None:
                on_retry(error, state.attempt_number)
            return True

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            decision = self.decide(error, state.attempt_number) if error else GiveUp()
            return decision.seconds if isinstance(decision, RetryIn) else 0.0

        async for attempt in AsyncRetrying(retry=retry, wait=wait, stop=stop_never, reraise=True):
            with attempt:
                return await call()
        raise AssertionError("unreachable: tenacity returns or re-raises")  # pragma: no cover
