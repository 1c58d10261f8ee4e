"""The pacer: waits out a worker's rate windows (`core.RatePlan`) on a real clock before each send."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from clawbus.channels.contracts import Scopes
from clawbus.egress.core import RatePlan


class Pacer:
    """Waits out a `RatePlan` on a real clock; shared by every send of one worker process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._plan = RatePlan()
        self._clock = clock
        self._lock = asyncio.Lock()

    async def wait(self, scopes: Scopes) -> None:
        """Return when a send in `scopes` keeps every limit, and count that send."""
        while True:
            async with self._lock:
                delay = self._plan.delay(scopes, self._clock())
                if delay <= 0:
                    self._plan.record(scopes, self._clock())
                    return
            await asyncio.sleep(delay)

    def hold(self, scopes: Scopes, seconds: float) -> None:
        """The platform asked for `seconds` of quiet in these scopes."""
        self._plan.hold(scopes, self._clock() + seconds)
