"""Transcript stores: the same contract on a local directory and on DynamoDB + S3 (the loopback API)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from clawbus.bus.errors import VersionConflict
from clawbus.bus.topology import sessions_table_name
from clawbus.storage import (
    Batch,
    DynamoTranscriptStore,
    LocalTranscriptStore,
    SessionRef,
    TranscriptStore,
)
from tests.conftest import Bus

SESSION = SessionRef("main", "0b6f3c1e-5d2a-4c8e-9f10-1a2b3c4d5e6f")


def message(entry_id: str, parent: str | None, text: str, role: str = "user") -> dict[str, object]:
    return {
        "type": "message",
        "id": entry_id,
        "parentId": parent,
        "timestamp": "2026-01-31T09:30:00+00:00",
        "message": {"role": role, "content": [{"type": "text", "text": text}]},
    }


@pytest.fixture(params=["local", "dynamodb"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TranscriptStore]:
    if request.param == "local":
        yield LocalTranscriptStore(tmp_path / "sessions")
        return
    bus: Bus = request.getfixturevalue("bus")
    async with bus.aio("dynamodb") as ddb, bus.aio("s3") as s3:
        yield DynamoTranscriptStore(
            ddb,
            s3,
            table=sessions_table_name(bus.prefix),
            bucket=f"{bus.prefix}-state",
            inline_max_bytes=2048,
        )


async def test_batches_read_back_in_order_and_pages_go_backwards(store: TranscriptStore) -> None:
    for seq in range(5):
        await store.append(
            SESSION, Batch(seq, (message(f"m{seq}", f"m{seq - 1}" if seq else None, f"hi {seq}"),))
        )
    tail = await store.read_tail(SESSION)
    assert tail.next_seq == 5
    assert [e["id"] for e in tail.entries] == ["m0", "m1", "m2", "m3", "m4"]
    page = await store.page(SESSION, before=3, limit=2)
    assert [b.seq for b in page] == [2, 1]
    assert (await store.read_tail(SessionRef("main", "other"))).next_seq == 0


async def test_two_writers_racing_for_one_seq_one_wins_the_other_conflicts(store: TranscriptStore) -> None:
    await store.append(SESSION, Batch(0, (message("a", None, "start"),)))
    results = await asyncio.gather(
        *(store.append(SESSION, Batch(1, (message(f"w{i}", "a", f"writer {i}"),))) for i in range(6)),
        return_exceptions=True,
    )
    assert sum(r is None for r in results) == 1
    conflicts = [r for r in results if r is not None]
    assert all(isinstance(r, VersionConflict) for r in conflicts)
    assert "re-read the tail and retry" in str(conflicts[0]) or "re-read and retry" in str(conflicts[0])
    winner = results.index(None)
    tail = await store.read_tail(SESSION)
    assert [e["id"] for e in tail.entries] == ["a", f"w{winner}"]  # never overwritten by a loser


async def test_the_tail_starts_at_the_last_compactions_kept_entry(store: TranscriptStore) -> None:
    for seq in range(30):
        await store.append(SESSION, Batch(seq, (message(f"m{seq}", None, "x"),)))
    compaction = {
        "type": "compaction",
        "id": "c1",
        "parentId": "m29",
        "timestamp": "2026-01-31T10:00:00+00:00",
        "summary": "earlier",
        "firstKeptEntryId": "m27",
        "tokensBefore": 1000,
    }
    await store.append(SESSION, Batch(30, (compaction,), kept_from=27))
    await store.append(SESSION, Batch(31, (message("m31", "c1", "after"),)))
    tail = await store.read_tail(SESSION)
    assert [e["id"] for e in tail.entries] == ["m27", "m28", "m29", "c1", "m31"]
    assert tail.next_seq == 32


async def test_a_turns_batch_is_found_by_its_id_with_its_reply(store: TranscriptStore) -> None:
    reply = {"schema_version": 1, "status": "ok", "parts": ["hello"]}
    await store.append(SESSION, Batch(0, (message("u", None, "hi"),), turn_id="rp-1", reply=reply))
    found = await store.find_turn(SESSION, "rp-1")
    assert found is not None
    assert found.reply == reply
    assert await store.find_turn(SESSION, "rp-2") is None


async def test_large_bodies_go_to_s3_and_read_back(bus: Bus) -> None:
    async with bus.aio("dynamodb") as ddb, bus.aio("s3") as s3:
        store = DynamoTranscriptStore(
            ddb, s3, table=sessions_table_name(bus.prefix), bucket=f"{bus.prefix}-state"
        )
        big = "y" * 100_000  # over the 64 KiB inline limit
        await store.append(SESSION, Batch(0, (message("big", None, big),)))
        listed = await s3.list_objects_v2(Bucket=f"{bus.prefix}-state", Prefix="agents/main/sessions/")
        assert [o["Key"].split("/")[-1].split(".")[0] for o in listed.get("Contents", [])] == ["0"]
        tail = await store.read_tail(SESSION)
        assert tail.entries[0]["message"]["content"][0]["text"] == big
