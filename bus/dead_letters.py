"""Moving a unit given up to the dead-letter queue, with its reason, after telling whoever asked.

The consumer (`bus/consumer.py`) decides a unit is given up (`bus/redrive.decide`: a permanent error, or
the `DLQ_MAX_RECEIVE_COUNT`th failed receive); `DeadLetters.unit` then runs the stage's hook
(`on_dead_letter`: the dispatcher tells the user their turn failed, `dispatcher/failure_notice.py`) and
moves each message to the DLQ with its reason, deleting it from its queue. The hook is best effort: it
never changes the unit's fate, and a crash between the two redelivers the unit, which is given up again
(the hook must be idempotent).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from clawbus.bus.errors import ClawbusError
from clawbus.bus.logging import log_event
from clawbus.bus.metrics import StageMetrics
from clawbus.bus.queues import Queue
from clawbus.bus.sqs_record import SqsRecord
from clawbus.bus.visibility import VisibilityKeeper

logger = logging.getLogger(__name__)

DeadLetterHook = Callable[[list[SqsRecord], ClawbusError], Awaitable[None]]


class DeadLetters:
    """Dead-letters the units a consumer gives up (see the module)."""

    def __init__(
        self,
        queue: Queue,
        dlq: Queue,
        stage: str,
        keeper: VisibilityKeeper,
        metrics: StageMetrics,
        hook: DeadLetterHook | None = None,
    ) -> None:
        self._queue = queue
        self._dlq = dlq
        self._stage = stage
        self._keeper = keeper
        self._metrics = metrics
        self._hook = hook

    async def unit(self, unit: list[SqsRecord], error: ClawbusError) -> None:
        """Tell the hook, then move every message of `unit` to the DLQ with `error` as its reason."""
        if self._hook is not None:
            try:
                await asyncio.shield(self._hook(unit, error))
            except Exception as failed:  # a bug in the hook never changes the unit's fate
                log_event(
                    logger, f"{self._stage}.dead_letter_hook.failed", logging.ERROR, reason=repr(failed)[:300]
                )
        for message in unit:
            await asyncio.shield(self._message(message, error))

    async def _message(self, message: SqsRecord, error: ClawbusError) -> None:
        self._keeper.untrack([message])
        await self._dlq.dead_letter(message, error, stage=self._stage, source=self._queue.name)
        try:
            await self._queue.delete(message)
        except ClawbusError as exc:  # it comes back and is dead-lettered again; the run goes on
            log_event(logger, f"{self._stage}.delete.failed", logging.WARNING, reason=str(exc))
        self._metrics.outcome("dead_lettered")
        log_event(
            logger,
            f"{self._stage}.message.dead_lettered",
            logging.ERROR,
            message_id=message.message_id,
            error_type=type(error).__name__,
            reason=str(error)[:300],
            dlq=self._dlq.name,
        )
