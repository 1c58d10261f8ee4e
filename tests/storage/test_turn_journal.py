"""Turn journals: the same contract on a local directory and on the sessions table (the loopback API)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from clawbus.bus.errors import PermanentError, VersionConflict
from clawbus.bus.topology import sessions_table_name
from clawbus.storage import DynamoTurnJournal, LocalTurnJournal, TurnJournalStore
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
