"""Concurrent reads share one batch read: ten turns starting together cost one `BatchGetItem`, not ten,
each still sees exactly its own keys as they are when it asked, and a failed read fails every caller.
Under load, reads wait for a request to come back and go out together (`Pacer`), never for long."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from clawbus.bus.batching import ReadBatcher
from clawbus.bus.errors import Unavailable

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


class Table:
    """A key-value table that counts its batch reads and remembers each read's keys and time."""

    def __init__(self, rows: dict[str, str]) -> None:
        self.rows = rows
        self.reads: list[tuple[list[str], datetime]] = []
        self.fail = False

    async def fetch(self, keys: Sequence[str], now: datetime) -> Mapping[str, str]:
        self.reads.append((list(keys), now))
        if self.fail:
            raise Unavailable("throttled")
        return {k: self.rows[k] for k in keys if k in self.rows}


async def test_concurrent_reads_share_one_request_and_each_gets_only_its_keys() -> None:
    table = Table({f"turn:{n}": f"answer {n}" for n in range(0, 10, 2)})
    reads = ReadBatcher(table.fetch)
    found = await asyncio.gather(
        *(reads.get([f"turn:{n}", f"intent:{n}"], NOW + timedelta(milliseconds=n)) for n in range(10))
    )
    assert found == [({f"turn:{n}": f"answer {n}"} if n % 2 == 0 else {}) for n in range(10)]
    [(keys, now)] = table.reads
    assert len(keys) == 20
    assert now == NOW + timedelta(milliseconds=9)  # the latest caller's time judges expiry


async def test_a_read_over_the_batch_size_starts_a_new_request_and_repeated_keys_are_asked_once() -> None:
    table = Table({"turn:a": "x"})
    reads = ReadBatcher(table.fetch, max_keys=4)
    found = await asyncio.gather(
        reads.get(["turn:a", "intent:a"], NOW),
        reads.get(["turn:a", "intent:a"], NOW),  # the same event twice (a retry beside its first copy)
        reads.get(["turn:b", "intent:b", "turn:c"], NOW),
    )
    assert found == [{"turn:a": "x"}, {"turn:a": "x"}, {}]
    assert [keys for keys, _ in table.reads] == [["turn:a", "intent:a"], ["turn:b", "intent:b", "turn:c"]]


async def test_a_failed_read_fails_each_of_its_callers_and_the_next_read_goes_out_again() -> None:
    table = Table({"turn:a": "x"})
    reads = ReadBatcher(table.fetch)
    table.fail = True
    results = await asyncio.gather(
        reads.get(["turn:a"], NOW), reads.get(["turn:b"], NOW), return_exceptions=True
    )
    assert [type(r) for r in results] == [Unavailable, Unavailable]
    table.fail = False
    assert await reads.get(["turn:a"], NOW) == {"turn:a": "x"}
    assert len(table.reads) == 2


async def test_more_keys_than_one_request_takes_are_refused() -> None:
    with pytest.raises(ValueError, match="at most 4 keys"):
        await ReadBatcher(Table({}).fetch, max_keys=4).get(["a", "b", "c", "d", "e"], NOW)


async def test_under_load_reads_wait_for_a_request_to_come_back_and_go_out_together() -> None:
    # Two requests out (the limit here): the next turns' reads gather instead of adding a third.
    release = asyncio.Event()
    table = Table({"turn:a": "x"})

    async def slow(keys: Sequence[str], now: datetime) -> Mapping[str, str]:
        found = await table.fetch(keys, now)
        await release.wait()
        return found

    reads = ReadBatcher(slow, linger_s=0, max_in_flight=2)
    out = [asyncio.create_task(reads.get([f"turn:{n}"], NOW)) for n in "ab"]
    await asyncio.sleep(0.01)
    out.append(asyncio.create_task(reads.get(["turn:a"], NOW)))
    await asyncio.sleep(0.01)
    out.append(asyncio.create_task(reads.get(["turn:b"], NOW)))  # the first two are still out
    await asyncio.sleep(0.01)
    more = [asyncio.create_task(reads.get([f"turn:{n}"], NOW)) for n in "cd"]
    await asyncio.sleep(0.01)
    assert len(table.reads) == 2  # the rest wait for a request to come back
    release.set()
    assert await asyncio.gather(*out, *more) == [{"turn:a": "x"}, {}, {"turn:a": "x"}, {}, {}, {}]
    assert len(table.reads) == 3  # the four waiting reads shared one request


async def test_a_hung_request_holds_the_next_reads_back_no_longer_than_the_wait_limit() -> None:
    hung = asyncio.Event()
    table = Table({"turn:a": "x"})

    async def hangs_first(keys: Sequence[str], now: datetime) -> Mapping[str, str]:
        if not table.reads:
            await table.fetch(keys, now)
            await hung.wait()  # this request hangs until the test is over
        return await table.fetch(keys, now)

    reads = ReadBatcher(hangs_first, linger_s=0, max_in_flight=1, max_wait_s=0.05)
    stuck = asyncio.create_task(reads.get(["turn:b"], NOW))
    await asyncio.sleep(0.01)
    assert await reads.get(["turn:a"], NOW) == {"turn:a": "x"}
    hung.set()
    assert await stuck == {}
