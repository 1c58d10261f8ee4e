"""What to do with a message whose handling failed: a pure decision.

The rule (Powertools' FIFO rule, with SQS's redrive as the backstop):
- a permanent error dead-letters the message now, with its reason, and the session's later messages go on;
- a retryable error (after the failing call site's own retries, `bus/retry.py`) gives the message back to
  the queue after a backoff, and the rest of its group in this batch goes back too (`bus/fifo_batch.py`);
- a message received `max_receives` times that fails again is dead-lettered by us, with the last error as
  its reason (SQS's own redrive would move it without one).
"""

from __future__ import annotations

from dataclasses import dataclass

from clawbus.bus.errors import ClawbusError, PermanentError, RetryableError

MAX_BACKOFF_S = 300


@dataclass(frozen=True)
class DeadLetter:
    """Move the message to the DLQ with `error` as the reason, then delete it."""

    error: ClawbusError


@dataclass(frozen=True)
class GiveBack:
    """Leave the message on the queue, invisible for `delay_s`, and hold back the rest of its group."""

    delay_s: int


Decision = DeadLetter | GiveBack


def decide(error: Exception, receive_count: int, max_receives: int) -> Decision:
    """Decide the fate of a message whose handling failed with `error`.

    An error that is neither retryable nor permanent (nobody classified it) counts as retryable.
    """
    if isinstance(error, PermanentError):
        return DeadLetter(error)
    if receive_count >= max_receives:
        cause = error if isinstance(error, ClawbusError) else RetryableError(type(error).__name__)
        return DeadLetter(cause)
    retry_after = error.retry_after if isinstance(error, RetryableError) else None
    backoff = retry_after if retry_after is not None else 2 ** min(receive_count, 8)
    return GiveBack(delay_s=int(min(MAX_BACKOFF_S, max(1, backoff))))
