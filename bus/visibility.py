"""Keeping in-flight messages invisible while their work runs, in batches.

Every tracked message is extended back to the full visibility timeout once a third of it has passed, by
one background task using `ChangeMessageVisibilityBatch` (ten per request), instead of one timer and one
request per message: with a thousand turns in flight that is a hundred requests per cycle, not a thousand.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from clawbus.bus.batching import Batcher
from clawbus.bus.queues import Queue
from clawbus.bus.sqs_record import SqsRecord

TICK_S = 1.0


class VisibilityKeeper:
    """Extends the visibility of tracked messages before it runs out."""

    def __init__(self, queue: Queue, timeout_s: int) -> None:
        self._timeout_s = timeout_s
        self._due: dict[str, tuple[SqsRecord, float]] = {}
        self._batcher: Batcher[SqsRecord] = Batcher(
            lambda batch: queue.set_visibility_batch(batch, timeout_s), linger_s=0.0
        )

    @property
    def requests(self) -> int:
        """ChangeMessageVisibilityBatch calls made so far."""
        return self._batcher.requests

    def track(self, messages: Iterable[SqsRecord]) -> None:
        """Keep these invisible until untracked (they were just received: due in a third of the timeout)."""
        due = time.monotonic() + self._timeout_s / 3
        for message in messages:
            self._due[message.receipt_handle] = (message, due)

    def untrack(self, messages: Iterable[SqsRecord]) -> None:
        """Stop extending these (done, given back, or dead-lettered)."""
        for message in messages:
            self._due.pop(message.receipt_handle, None)

    async def run(self) -> None:
        """Extend what is due, every second, until cancelled."""
        while True:
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            due = [message for message, at in self._due.values() if at <= now]
            for message in due:
                self._due[message.receipt_handle] = (message, now + self._timeout_s / 3)
            if due:
                # A failed extension only means the message may come back early; its ledger entry covers it.
                await asyncio.gather(*(self._batcher.submit(m) for m in due), return_exceptions=True)
