"""Concurrent reads share one batch read: ten turns starting together cost one `BatchGetItem`, not ten,
each still sees exactly its own keys as they are when it asked, and a failed read fails every caller."""

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
