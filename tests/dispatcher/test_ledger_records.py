"""The turn ledger on the record store: a damaged record is named, not a KeyError deep in a turn."""

from __future__ import annotations

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
