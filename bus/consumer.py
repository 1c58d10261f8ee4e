"""A FIFO queue consumer: many sessions at once, one message at a time within a session.

SQS FIFO hands out a group's messages only while none of that group is in flight, so a batch holds at
most one run of each group and groups never overlap between batches. The consumer processes each group's
run in order in its own task, all groups concurrently, bounded by `concurrency` messages in flight; it
receives only when it has room. A message is deleted only after its handler succeeded (or after it was
dead-lettered), so a crash at any point redelivers it. While a handler runs, a heartbeat keeps the
message invisible; on shutdown the consumer stops receiving, lets work finish within a grace period, then
cancels and gives the rest back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from .errors import ClawbusError, RetryableError
from .logging import log_event
from .queues import Queue, ReceivedMessage
from .redrive import DeadLetter, decide

logger = logging.getLogger(__name__)

Handler = Callable[[ReceivedMessage], Awaitable[None]]


@dataclass(frozen=True)
class ConsumerConfig:
    """How a consumer paces itself (from the stage's settings)."""

    stage: str
    concurrency: int = 16
    wait_time_s: int = 2
    visibility_timeout_s: int = 60
    max_attempts: int = 3
    max_receives: int = 5
    shutdown_grace_s: float = 10.0
    # A retryable error asking for a longer wait than this is not retried in process: the message is
    # given back for that long at once (retrying sooner would ignore the other side's `retry_after`).
    max_inline_retry_after_s: float = 5.0

    def retry_in_process(self, error: BaseException) -> bool:
        """Whether `error` is worth another in-process attempt."""
        if not isinstance(error, RetryableError):
            return False
        return error.retry_after is None or error.retry_after <= self.max_inline_retry_after_s


class FifoConsumer:
    """Consumes one FIFO queue with a handler; dead-letters what cannot be handled."""

    def __init__(self, queue: Queue, dlq: Queue, handler: Handler, config: ConsumerConfig) -> None:
        self._queue = queue
        self._dlq = dlq
        self._handler = handler
        self._config = config
        self._in_flight = 0
        self._room = asyncio.Condition()
        self.handled = 0
        self.dead_lettered = 0

    @property
    def in_flight(self) -> int:
        """Messages received and not yet finished."""
        return self._in_flight

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set, then drain within the grace period and return."""
        tasks: set[asyncio.Task[None]] = set()
        try:
            while not stop.is_set():
                batch = await self._receive_when_room(stop)
                for run in _group_runs(batch):
                    task = asyncio.create_task(self._process_run(run))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
        finally:
            await self._drain(tasks)

    async def run_until_idle(self, idle_receives: int = 1) -> int:
        """Handle messages until a receive comes back empty with nothing in flight; return how many.

        The burst mode of a worker, for tests and one-shot runs (compare arq's `burst`).
        """
        before = self.handled + self.dead_lettered
        empty = 0
        while empty < idle_receives:
            batch = await self._queue.receive(self._config.concurrency, wait_time_s=1)
            if not batch:
                empty += 1
                continue
            empty = 0
            async with asyncio.TaskGroup() as group:
                for run in _group_runs(batch):
                    group.create_task(self._process_run(run))
        return self.handled + self.dead_lettered - before

    async def _receive_when_room(self, stop: asyncio.Event) -> list[ReceivedMessage]:
        limit = self._config.concurrency
        async with self._room:
            await self._room.wait_for(lambda: self._in_flight < limit)
        if stop.is_set():
            return []
        room = min(10, limit - self._in_flight)
        try:
            batch = await self._queue.receive(room, self._config.wait_time_s)
        except RetryableError as exc:
            log_event(logger, f"{self._config.stage}.receive.failed", logging.WARNING, reason=str(exc))
            batch = []
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)
        self._in_flight += len(batch)
        return batch

    async def _process_run(self, run: list[ReceivedMessage]) -> None:
        """Handle one group's messages in order; on a give-back, give back the rest of the run too."""
        try:
            for position, message in enumerate(run):
                if not await self._process(message):
                    for later in run[position + 1 :]:
                        await _quietly(self._queue.set_visibility(later, 0))
                    return
        finally:
            self._in_flight -= len(run)
            async with self._room:
                self._room.notify_all()

    async def _process(self, message: ReceivedMessage) -> bool:
        """Handle one message; True when it left the queue (handled or dead-lettered)."""
        started = time.monotonic()
        try:
            async with _keep_invisible(self._queue, message, self._config.visibility_timeout_s):
                async for attempt in AsyncRetrying(
                    retry=retry_if_exception(self._config.retry_in_process),
                    stop=stop_after_attempt(self._config.max_attempts),
                    wait=wait_exponential_jitter(initial=0.2, max=5.0),
                    reraise=True,
                ):
                    with attempt:
                        await self._handler(message)
        except asyncio.CancelledError:
            await asyncio.shield(_quietly(self._queue.set_visibility(message, 0)))
            raise
        except Exception as exc:  # the loop's outermost guard: classify, never die
            return await self._failed(message, exc)
        await asyncio.shield(self._queue.delete(message))
        self.handled += 1
        log_event(
            logger,
            f"{self._config.stage}.message.handled",
            message_id=message.message_id,
            duration_ms=round((time.monotonic() - started) * 1000, 1),
        )
        return True

    async def _failed(self, message: ReceivedMessage, exc: Exception) -> bool:
        decision = decide(exc, message.receive_count, self._config.max_receives)
        if isinstance(decision, DeadLetter):
            await asyncio.shield(self._dead_letter(message, decision.error))
            return True
        log_event(
            logger,
            f"{self._config.stage}.message.retry_later",
            logging.WARNING,
            message_id=message.message_id,
            attempt=message.receive_count,
            error_type=type(exc).__name__,
            reason=str(exc)[:300],
            delay_s=decision.delay_s,
        )
        await _quietly(self._queue.set_visibility(message, decision.delay_s))
        return False

    async def _dead_letter(self, message: ReceivedMessage, error: ClawbusError) -> None:
        await self._dlq.dead_letter(message, error, stage=self._config.stage, source=self._queue.name)
        await self._queue.delete(message)
        self.dead_lettered += 1
        log_event(
            logger,
            f"{self._config.stage}.message.dead_lettered",
            logging.ERROR,
            message_id=message.message_id,
            error_type=type(error).__name__,
            reason=str(error)[:300],
            dlq=self._dlq.name,
        )

    async def _drain(self, tasks: set[asyncio.Task[None]]) -> None:
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=self._config.shutdown_grace_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def _group_runs(batch: list[ReceivedMessage]) -> list[list[ReceivedMessage]]:
    runs: dict[str, list[ReceivedMessage]] = {}
    for message in batch:
        runs.setdefault(message.group_id, []).append(message)
    return list(runs.values())


async def _quietly(call: Awaitable[None]) -> None:
    """Best-effort bookkeeping: a failure only delays the message until its visibility times out."""
    with contextlib.suppress(ClawbusError):
        await call


@contextlib.asynccontextmanager
async def _keep_invisible(queue: Queue, message: ReceivedMessage, timeout_s: int) -> AsyncIterator[None]:
    """Extend the message's visibility every third of its timeout while the block runs."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(timeout_s / 3)
            await _quietly(queue.set_visibility(message, timeout_s))

    heartbeat = asyncio.create_task(beat())
    try:
        yield
    finally:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
