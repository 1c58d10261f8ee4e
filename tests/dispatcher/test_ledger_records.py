"""The turn ledger on the record store: a damaged record is named, not a KeyError deep in a turn."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from clawbus.bus.clients import AgentStoreClients, open_stage_clients
from clawbus.bus.errors import CorruptRecord
from clawbus.bus.settings import Settings
from clawbus.bus.topology import ledger_table_name
from clawbus.dispatcher.ledger import Publication, StoredTurn, TurnLedger
from tests.conftest import Bus

NOW = datetime.fromtimestamp(1_800_000_000, UTC)


async def test_a_recorded_turn_stands_and_a_corrupt_one_says_how_to_repair(bus: Bus) -> None:
    table = ledger_table_name(bus.prefix)
    async with open_stage_clients(Settings(aws=bus.aws), AgentStoreClients) as clients:
        ledger = TurnLedger(clients.dynamodb, table, 3600)
        publication = Publication(body="{}", channel="webchat", kind="final", group_id="g", dedup_id="d")
        ours = StoredTurn("r1", (publication,))
        assert await ledger.record(["e1", "e2"], ours, NOW) == ours
        assert await ledger.record(["e1"], StoredTurn("r2", ()), NOW) == ours  # the first run's reply stands
        assert (
            await ledger.lookup(["e1", "e2", "e3"], NOW + timedelta(seconds=4000)) == {}
        )  # expired: absent, on read too
        bus.client("dynamodb").put_item(
            TableName=table,
            Item={"pk": {"S": "turn:bad"}, "reply_id": {"S": "r"}, "publications": {"S": "[{"}},
        )
        with pytest.raises(CorruptRecord, match=r"turn:bad.*not valid JSON.*delete-item"):
            await ledger.lookup(["bad"], NOW)


async def test_concurrent_turns_records_share_one_request_and_each_first_record_stands(bus: Bus) -> None:
    """One-event turns' records are PartiQL inserts that concurrent turns send in one
    `BatchExecuteStatement`; each is refused on its own: a turn recorded before keeps its reply (a racing
    re-run gets the first one's), a record past its TTL that DynamoDB has not deleted yet is written over,
    and two runs of one turn in the same batch record it once."""
    table = ledger_table_name(bus.prefix)
    requests: dict[str, int] = {}
    async with open_stage_clients(Settings(aws=bus.aws), AgentStoreClients, requests) as clients:
        ledger = TurnLedger(clients.dynamodb, table, 3600)
        first = StoredTurn("r-old", ())
        assert await ledger.record(["e0"], first, NOW) == first
        assert await ledger.record(["stale"], StoredTurn("r-stale", ()), NOW - timedelta(seconds=7200)) == (
            StoredTurn("r-stale", ())
        )

        turns = {f"e{n}": StoredTurn(f"r{n}", ()) for n in range(12)}
        before = requests["dynamodb"]
        stood = await asyncio.gather(*(ledger.record([e], t, NOW) for e, t in turns.items()))
        assert stood == [first, *list(turns.values())[1:]]  # e0's first record stands
        # one batch of 12 inserts; e0's refusal is tried as a conditional put, then its record read
        assert requests["dynamodb"] - before == 3

        fresh = StoredTurn("r-new", ())
        assert await ledger.record(["stale"], fresh, NOW) == fresh  # expired: written over
        racing = await asyncio.gather(
            ledger.record(["twice"], StoredTurn("a", ()), NOW),
            ledger.record(["twice"], StoredTurn("b", ()), NOW),
        )
        assert racing[0] == racing[1] == StoredTurn("a", ())
        assert await ledger.lookup(["e5", "stale", "twice"], NOW) == {
            "e5": turns["e5"],
            "stale": fresh,
            "twice": StoredTurn("a", ()),
        }
