"""A FIFO queue consumer: many sessions at once, one unit of work at a time within a session.

SQS FIFO hands out a group's messages only while none of that group is in flight, so a batch holds at
most one run of each group, and groups never overlap between batches. The consumer splits each group's
run into units with a planner (one message per unit by default; the dispatcher's `collect` mode merges
several into one turn, or defers a run to let more arrive), handles a group's units in order in one task,
all groups concurrently, bounded by `concurrency` messages in flight, and receives only when it has room.

Each unit is tried once per receive: retrying is the business of the call sites inside the handler, each
with its own policy (`bus/retry.py`), and of the queue's redrive, the one outer loop (a retryable failure
gives the message back with a backoff; the `DLQ_MAX_RECEIVE_COUNT`th failure dead-letters it). A unit's
messages are deleted only after its handler succeeded (or after they were dead-lettered), so a crash at any
point redelivers them. While they wait or run, a `VisibilityKeeper` keeps received messages invisible;
deletes of concurrent units share `DeleteMessageBatch` requests. Which messages go back to the queue after a
failure is `bus/fifo_batch.py`'s pure `plan_batch` (a give-back holds back the rest of its group); a unit
given up goes to the DLQ through `bus/dead_letters.py`, which first runs the stage's `on_dead_letter` hook.
On shutdown the consumer stops receiving, lets work finish within a grace period, then cancels and gives the
rest back. `handle_batch` runs the same rule on a batch received elsewhere (the egress Lambda's SQS event
source) and returns the plan, so the Lambda and the long-running worker share one implementation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from clawbus.bus.batching import Batcher
from clawbus.bus.dead_letters import DeadLetterHook, DeadLetters
from clawbus.bus.errors import ClawbusError, RetryableError
from clawbus.bus.fifo_batch import BatchPlan, Handled, Outcome, group_runs, plan_batch
from clawbus.bus.lifecycle import first_of
from clawbus.bus.logging import log_event
from clawbus.bus.metrics import stage_metrics
from clawbus.bus.queues import Queue
from clawbus.bus.redrive import DeadLetter, GiveBack, decide
from clawbus.bus.sqs_record import SqsRecord
from clawbus.bus.topology import DLQ_MAX_RECEIVE_COUNT
from clawbus.bus.visibility import VisibilityKeeper

logger = logging.getLogger(__name__)

Unit = list[SqsRecord]
Handler = Callable[[Unit], Awaitable[None]]


@dataclass(frozen=True)
class Plan:
    """How to handle one group's run: `units` in order, then give `deferred` back for `defer_s` seconds."""

    units: list[Unit]
    deferred: list[SqsRecord] = field(default_factory=list)
    defer_s: int = 0


Planner = Callable[[list[SqsRecord]], Awaitable[Plan]]  # async: a planner may read state first


async def one_per_unit(run: list[SqsRecord]) -> Plan:
    """The default plan: each message is its own unit."""
    return Plan(units=[[message] for message in run])


@dataclass(frozen=True)
class ConsumerConfig:
    """How a consumer paces itself (from the stage's settings)."""

    stage: str
    concurrency: int = 16
    wait_time_s: int = 2
    receivers: int = 1  # receives out at once while a backlog lasts (one while the queue is idle)
    visibility_timeout_s: int = 60
    shutdown_grace_s: float = 10.0


@dataclass
class ConsumerStats:
    """Counters a health check or a benchmark reads."""

    handled: int = 0
    dead_lettered: int = 0
    given_back: int = 0
    receives: int = 0
    last_receive_at: float = field(default_factory=time.monotonic)


class FifoConsumer:
    """Consumes one FIFO queue with a handler; dead-letters what cannot be handled."""

    def __init__(
        self,
        queue: Queue,
        dlq: Queue,
        handler: Handler,
        config: ConsumerConfig,
        planner: Planner = one_per_unit,
        on_dead_letter: DeadLetterHook | None = None,
    ) -> None:
        self._queue = queue
        self._dlq = dlq
        self._handler = handler
        self._planner = planner
        self._config = config
        self._in_flight = 0
        self._reserved = 0  # room receives in progress have asked for
        self._backlog = asyncio.Event()  # the last full receive found more waiting: more receivers poll
        self._room = asyncio.Condition()
        self._deleter: Batcher[SqsRecord] = Batcher(queue.delete_batch)
        self._keeper = VisibilityKeeper(queue, config.visibility_timeout_s)
        self.stats = ConsumerStats()
        self._metrics = stage_metrics(config.stage)
        self._dead_letters = DeadLetters(
            queue, dlq, config.stage, self._keeper, self._metrics, on_dead_letter
        )

    @property
    def in_flight(self) -> int:
        """Messages received and not yet finished."""
        return self._in_flight

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set, then drain within the grace period and return."""
        tasks: set[asyncio.Task[None]] = set()
        keeper = asyncio.create_task(self._keeper.run())
        try:
            receivers = range(self._config.receivers)
            await asyncio.gather(*(self._receive_loop(stop, tasks, index) for index in receivers))
        finally:
            await self._drain(tasks)
            await self._deleter.close()
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper

    async def _receive_loop(self, stop: asyncio.Event, tasks: set[asyncio.Task[None]], index: int) -> None:
        """One receiver: the first always polls; another only while receives come back full (a backlog),
        so an idle queue costs one poll at a time."""
        while not stop.is_set():
            if index and not await first_of(self._backlog, stop):
                return
            batch, asked = await self._receive_when_room(stop)
            if asked and len(batch) >= asked:
                self._backlog.set()
            elif index == 0:
                self._backlog.clear()
            for run in group_runs(batch):
                task = asyncio.create_task(self._process_run(run))
                tasks.add(task)
                task.add_done_callback(tasks.discard)

    async def run_until_idle(self, idle_receives: int = 1) -> int:
        """Handle messages until a receive comes back empty with nothing in flight; return how many.

        The burst mode of a worker, for tests and one-shot runs (compare arq's `burst`).
        """
        before = self.stats.handled + self.stats.dead_lettered
        keeper = asyncio.create_task(self._keeper.run())
        empty = 0
        while empty < idle_receives:
            batch = await self._queue.receive(
                min(10, self._config.concurrency), 1, self._config.visibility_timeout_s
            )
            self.stats.receives += 1
            if not batch:
                empty += 1
                continue
            empty = 0
            self._in_flight += len(batch)
            async with asyncio.TaskGroup() as group:
                for run in group_runs(batch):
                    group.create_task(self._process_run(run))
        await self._deleter.close()
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        return self.stats.handled + self.stats.dead_lettered - before

    async def handle_batch(self, batch: list[SqsRecord]) -> BatchPlan:
        """Handle a batch someone else received, as `run` handles its own; the batch's plan.

        For Lambda's SQS event source: handled and dead-lettered messages are deleted here, and the
        given-back ones (a retryable failure, and every later message of its group) are the plan's
        `item_failures`, which the invocation reports as `batchItemFailures`, so SQS redelivers them
        in order.
        """
        outcomes: dict[str, Outcome] = {}
        self._in_flight += len(batch)
        try:
            async with asyncio.TaskGroup() as group:
                for run in group_runs(batch):
                    group.create_task(self._process_run(run, outcomes))
        finally:
            await self._deleter.close()
        return plan_batch(batch, outcomes)

    async def _receive_when_room(self, stop: asyncio.Event) -> tuple[list[SqsRecord], int]:
        """A batch received into the room there is (reserved first: receivers never overfill it), and
        how many messages were asked for."""
        limit = self._config.concurrency
        async with self._room:
            await self._room.wait_for(lambda: self._in_flight + self._reserved < limit)
            room = min(10, limit - self._in_flight - self._reserved)
            self._reserved += room
        if stop.is_set():
            self._reserved -= room
            return [], 0
        try:
            batch = await self._queue.receive(
                room, self._config.wait_time_s, self._config.visibility_timeout_s
            )
        except RetryableError as exc:
            log_event(logger, f"{self._config.stage}.receive.failed", logging.WARNING, reason=str(exc))
            batch = []
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)
        else:
            self.stats.receives += 1
            self.stats.last_receive_at = time.monotonic()
        finally:
            self._reserved -= room
        self._in_flight += len(batch)
        self._metrics.flight(len(batch))
        self._keeper.track(batch)
        return batch, room

    async def _process_run(self, run: list[SqsRecord], outcomes: dict[str, Outcome] | None = None) -> None:
        """Handle one group's run unit by unit until one is given back; then give back what the batch
        rule says (that unit, every later one, and the planner's deferred messages)."""
        outcomes = {} if outcomes is None else outcomes
        try:
            plan = await self._planner(run)
            for unit in plan.units:
                outcome = await self._process(unit)
                outcomes.update((m.message_id, outcome) for m in unit)
                if isinstance(outcome, GiveBack):
                    break
            else:
                outcomes.update((m.message_id, GiveBack(plan.defer_s)) for m in plan.deferred)
            for message, delay_s in plan_batch(run, outcomes).give_back:
                await self._give_back([message], delay_s)
        finally:
            self._in_flight -= len(run)
            self._metrics.flight(-len(run))
            self._keeper.untrack(run)
            async with self._room:
                self._room.notify_all()

    async def _process(self, unit: Unit) -> Outcome:
        """Handle one unit: delete its messages when handled, dead-letter them when they cannot be; the
        outcome (a `GiveBack` is left to the batch rule)."""
        started = time.monotonic()
        try:
            await self._handler(unit)  # one attempt per receive: the handler's call sites retry inline
        except asyncio.CancelledError:
            await asyncio.shield(self._give_back(unit, 0))
            raise
        except Exception as exc:  # the loop's outermost guard: classify, never die
            return await self._failed(unit, exc)
        await asyncio.shield(self._delete(unit))
        self.stats.handled += len(unit)
        self._metrics.outcome("handled", len(unit))
        self._metrics.took((time.monotonic() - started) * 1000)
        log_event(  # DEBUG: the stage's handler logs the one INFO line per message
            logger,
            f"{self._config.stage}.message.handled",
            logging.DEBUG,
            message_id=unit[0].message_id,
            messages=len(unit),
            duration_ms=round((time.monotonic() - started) * 1000, 1),
        )
        return Handled()

    async def _delete(self, unit: Unit) -> None:
        self._keeper.untrack(unit)
        results = await asyncio.gather(*(self._deleter.submit(m) for m in unit), return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):  # it comes back; its idempotency record makes that a no-op
                log_event(logger, f"{self._config.stage}.delete.failed", logging.WARNING, reason=str(result))

    async def _failed(self, unit: Unit, exc: Exception) -> Outcome:
        decision = decide(exc, max(m.receive_count for m in unit), DLQ_MAX_RECEIVE_COUNT)
        if isinstance(decision, DeadLetter):
            await self._dead_letters.unit(unit, decision.error)
            self.stats.dead_lettered += len(unit)
            return decision
        log_event(
            logger,
            f"{self._config.stage}.message.retry_later",
            logging.WARNING,
            message_id=unit[0].message_id,
            attempt=unit[0].receive_count,
            error_type=type(exc).__name__,
            reason=str(exc)[:300],
            delay_s=decision.delay_s,
        )
        return decision

    async def _give_back(self, messages: Sequence[SqsRecord], delay_s: int) -> None:
        self._keeper.untrack(messages)
        self.stats.given_back += len(messages)
        self._metrics.outcome("given_back", len(messages))
        for message in messages:
            await _quietly(self._queue.set_visibility(message, delay_s))

    async def _drain(self, tasks: set[asyncio.Task[None]]) -> None:
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=self._config.shutdown_grace_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


async def _quietly(call: Awaitable[None]) -> None:
    """Best-effort bookkeeping: a failure only delays the message until its visibility times out."""
    with contextlib.suppress(ClawbusError):
        await call
