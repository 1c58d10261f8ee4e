"""Combining calls from concurrent tasks into AWS batch calls.

Each task awaits its own item as if it were alone; items submitted within a short linger share one
request (`DeleteMessageBatch`, `ChangeMessageVisibilityBatch`, `PublishBatch`),
up to the API's batch size. A batch answers per item, so one failed item fails only its own caller.
`ReadBatcher` does the same for reads (`BatchGetItem`): each task asks for its keys and gets what was
found among them, read when it asked (a linger later at most), never from a cache.

Under load the linger alone pairs few items (at 50 turns a second, 5 ms holds a quarter of a turn), so
both pace themselves as a group commit does (`Pacer`): once the linger is over, items go out only while
no other request of theirs is out (`max_in_flight`, 1), and otherwise wait for it to come back — at most
`max_wait_s` — gathering the items that arrive meanwhile. An idle caller waits the linger alone; a busy
stage sends fuller batches, and a hung request holds the others back no longer than `max_wait_s`. A
full batch goes out at once.
Order: a caller submits its next item of a session only after the previous one finished, so a batch
never holds two items of one session out of order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Generic, TypeVar

from clawbus.bus.errors import ClawbusError, Unavailable

T = TypeVar("T")
R = TypeVar("R")
Flush = Callable[[Sequence[T]], Awaitable[Sequence[Exception | None]]]
Fetch = Callable[[Sequence[str], datetime], Awaitable[Mapping[str, R]]]


class Pacer:
    """When a batcher's pending items go out: `linger_s` after the first, then as soon as fewer than
    `max_in_flight` of its requests are out, or `max_wait_s` after the linger at the latest."""

    def __init__(
        self, go: Callable[[], None], linger_s: float, max_in_flight: int, max_wait_s: float
    ) -> None:
        self._go = go  # sends everything pending
        self._linger_s = linger_s
        self._max_in_flight = max_in_flight
        self._max_wait_s = max_wait_s
        self._timer: asyncio.Task[None] | None = None
        self._returned: asyncio.Event | None = None  # made in the loop that waits on it
        self.in_flight = 0

    def arm(self) -> None:
        """Items are pending: send them when their time comes (nothing if already armed)."""
        if self._timer is None:
            self._timer = asyncio.create_task(self._wait())

    def disarm(self) -> None:
        """The pending items are going out now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    @contextlib.contextmanager
    def request(self) -> Iterator[None]:
        """Count one request as out for the life of the block."""
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1
            if self._returned is not None:
                self._returned.set()

    async def _wait(self) -> None:
        await asyncio.sleep(self._linger_s)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._max_wait_s):
                while self.in_flight >= self._max_in_flight:
                    self._returned = asyncio.Event()
                    await self._returned.wait()
        self._timer = None
        self._go()


class Batcher(Generic[T]):
    """Submits items in batches of up to `max_size`, lingering `linger_s` for company (`Pacer`)."""

    def __init__(
        self,
        flush: Flush[T],
        *,
        max_size: int = 10,
        linger_s: float = 0.005,
        max_in_flight: int = 1,
        max_wait_s: float = 0.1,
    ) -> None:
        self._flush = flush
        self._max = max_size
        self._pending: list[tuple[T, asyncio.Future[None]]] = []
        self._pacer = Pacer(self._flush_now, linger_s, max_in_flight, max_wait_s)
        self._sending: set[asyncio.Task[None]] = set()
        self.requests = 0

    async def submit(self, item: T) -> None:
        """Send `item` in some batch; returns when it went through, raises its `ClawbusError` if not."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if len(self._pending) >= self._max:
            self._flush_now()
        else:
            self._pacer.arm()
        await future

    def _flush_now(self) -> None:
        self._pacer.disarm()
        while self._pending:
            batch, self._pending = self._pending[: self._max], self._pending[self._max :]
            task = asyncio.create_task(self._send(batch))
            self._sending.add(task)  # held here and awaited by `close`; callers await their futures
            task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[tuple[T, asyncio.Future[None]]]) -> None:
        with self._pacer.request():
            await self._send_now(batch)

    async def _send_now(self, batch: list[tuple[T, asyncio.Future[None]]]) -> None:
        self.requests += 1
        try:
            results: Sequence[Exception | None] = await self._flush([item for item, _ in batch])
        except ClawbusError as exc:
            results = [exc] * len(batch)
        except Exception as exc:  # never leave a caller waiting
            results = [Unavailable(f"batch failed: {type(exc).__name__}")] * len(batch)
        for (_, future), error in zip(batch, results, strict=True):
            if future.done():
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

    async def close(self) -> None:
        """Flush what is pending and wait for every batch in flight (on shutdown)."""
        self._flush_now()
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)


class ReadBatcher(Generic[R]):
    """Concurrent reads by key sharing one `fetch` of up to `max_keys` keys, lingering `linger_s`.

    `fetch(keys, now)` returns what it found among `keys` (records live at `now`); a shared read uses the
    latest `now` of its callers. A failed read fails each of its callers with its `ClawbusError`.
    """

    def __init__(
        self,
        fetch: Fetch[R],
        *,
        max_keys: int = 100,
        linger_s: float = 0.005,
        max_in_flight: int = 1,
        max_wait_s: float = 0.1,
    ) -> None:
        self._fetch = fetch
        self._max = max_keys
        self._pending: list[tuple[list[str], datetime, asyncio.Future[dict[str, R]]]] = []
        self._keys = 0
        self._pacer = Pacer(self._read_now, linger_s, max_in_flight, max_wait_s)
        self._reading: set[asyncio.Task[None]] = set()

    async def get(self, keys: Sequence[str], now: datetime) -> dict[str, R]:
        """What was found among `keys` (at most `max_keys`), read in some shared request."""
        if len(keys) > self._max:
            raise ValueError(f"at most {self._max} keys in one read, got {len(keys)}")
        future: asyncio.Future[dict[str, R]] = asyncio.get_running_loop().create_future()
        if self._keys + len(keys) > self._max:
            self._read_now()
        self._pending.append((list(keys), now, future))
        self._keys += len(keys)
        self._pacer.arm()
        return await future

    def _read_now(self) -> None:
        self._pacer.disarm()
        if not self._pending:
            return
        batch, self._pending, self._keys = self._pending, [], 0
        task = asyncio.create_task(self._read(batch))
        self._reading.add(task)  # held here; callers await their futures
        task.add_done_callback(self._reading.discard)

    async def _read(self, batch: list[tuple[list[str], datetime, asyncio.Future[dict[str, R]]]]) -> None:
        with self._pacer.request():
            await self._read_batch(batch)

    async def _read_batch(
        self, batch: list[tuple[list[str], datetime, asyncio.Future[dict[str, R]]]]
    ) -> None:
        keys = list(dict.fromkeys(k for asked, _, _ in batch for k in asked))  # BatchGetItem refuses repeats
        try:
            found = await self._fetch(keys, max(now for _, now, _ in batch))
        except ClawbusError as exc:
            error: Exception | None = exc
        except Exception as exc:  # never leave a caller waiting
            error = Unavailable(f"batch read failed: {type(exc).__name__}")
        else:
            error = None
        for asked, _, future in batch:
            if future.done():
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result({k: found[k] for k in asked if k in found})
