"""One clock convention: "now" is an aware UTC `datetime`, passed in, never read in the middle of logic.

`Clock` is what a component that needs the time takes (`utc_now` in production, a fixed or stepping
function in tests). Epoch seconds (`epoch_s`) exist only where a number is what the wire wants: a
DynamoDB TTL attribute is written or compared, inside storage/. Durations are not "now": they stay on
`time.monotonic`, which no wall-clock step can make negative (the `Pacer`, visibility keeper, timeouts).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def epoch_s(moment: datetime) -> int:
    """Whole seconds since the Unix epoch (a DynamoDB TTL number); `moment` must be aware."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no epoch: pass an aware one (bus.clock.utc_now)")
    return int(moment.timestamp())
