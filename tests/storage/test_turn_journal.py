"""Turn journals: the same contract on a local directory and on the sessions table (the loopback API)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from clawbus.bus.errors import PermanentError, VersionConflict
from clawbus.bus.topology import sessions_table_name
from clawbus.storage import DynamoTurnJournal, LocalTurnJournal, TurnJournalStore
from clawbus.storage.turn_journal import JOURNAL_TTL
from tests.conftest import Bus


@pytest.fixture(params=["local", "dynamodb"])
async def journal(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TurnJournalStore]:
    if request.param == "local":
        yield LocalTurnJournal(tmp_path / "sessions")
        return
    bus: Bus = request.getfixturevalue("bus")
    async with bus.aio("dynamodb") as ddb:
        yield DynamoTurnJournal(ddb, sessions_table_name(bus.prefix))


async def test_steps_read_back_in_order_and_the_first_writer_of_a_step_stands(
    journal: TurnJournalStore,
) -> None:
    assert await journal.read("main", "rp-1") == []
    for index in range(12):  # past 10: the order is numeric, not by text
        await journal.append("main", "rp-1", index, {"kind": "tool", "text": f"result {index}"})
    with pytest.raises(VersionConflict, match="step 3 exists"):
        await journal.append("main", "rp-1", 3, {"kind": "tool", "text": "a second run's"})
    steps = await journal.read("main", "rp-1")
    assert [s["text"] for s in steps] == [f"result {i}" for i in range(12)]
    assert await journal.read("main", "rp-2") == []  # turns are apart
    await journal.discard("main", "rp-1")
    await journal.discard("main", "rp-1")  # safe to repeat
    assert await journal.read("main", "rp-1") == []


async def test_ids_that_could_leave_the_journal_are_refused(journal: TurnJournalStore) -> None:
    with pytest.raises(PermanentError, match="turn id"):
        await journal.append("main", "../../etc", 0, {"kind": "model"})


async def test_a_journal_reads_as_empty_after_its_ttl_and_a_rerun_starts_it_anew(
    bus: Bus, tmp_path: Path
) -> None:
    """A turn that never finished (or the OpenClaw engine's kept answer) does not stay forever: 21 days
    after it was written the journal is gone, and a run of the same turn journals afresh."""
    written = datetime(2026, 12, 1, tzinfo=UTC)
    now = [written]
    async with bus.aio("dynamodb") as ddb:
        stores: list[TurnJournalStore] = [
            LocalTurnJournal(tmp_path / "sessions", clock=lambda: now[0]),
            DynamoTurnJournal(ddb, sessions_table_name(bus.prefix), clock=lambda: now[0]),
        ]
        for journal in stores:
            now[0] = written
            await journal.append("main", "rp-old", 0, {"kind": "model", "text": "first"})
            await journal.append("main", "rp-old", 1, {"kind": "tool", "text": "second"})
            if isinstance(journal, LocalTurnJournal):  # local journals age by their files
                for step in (tmp_path / "sessions" / "main" / "journal" / "rp-old").iterdir():
                    os.utime(step, (written.timestamp(), written.timestamp()))
            now[0] = written + JOURNAL_TTL - timedelta(seconds=1)
            assert [s["text"] for s in await journal.read("main", "rp-old")] == ["first", "second"]
            now[0] = written + JOURNAL_TTL
            assert await journal.read("main", "rp-old") == []
            await journal.append("main", "rp-old", 0, {"kind": "model", "text": "again"})
            assert [s["text"] for s in await journal.read("main", "rp-old")] == ["again"]


async def test_the_agent_sweeps_expired_local_journals_and_keeps_live_ones(tmp_path: Path) -> None:
    now = [datetime.now(UTC)]
    journal = LocalTurnJournal(tmp_path, clock=lambda: now[0])
    await journal.append("main", "rp-dead", 0, {"kind": "model"})
    await journal.append("work", "rp-live", 0, {"kind": "model"})
    old = (now[0] - JOURNAL_TTL - timedelta(hours=1)).timestamp()
    os.utime(tmp_path / "main" / "journal" / "rp-dead" / "0.json", (old, old))
    assert await journal.sweep() == 1
    assert not (tmp_path / "main" / "journal" / "rp-dead").exists()
    assert await journal.read("work", "rp-live") == [{"kind": "model"}]
