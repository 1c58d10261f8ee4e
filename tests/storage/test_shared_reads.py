"""Stores built with one `SharedReads` read in shared `BatchGetItem` requests, across tables (issue 21):
what each caller gets is what its own read would have found, expiry included."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from clawbus.bus.clients import AgentStoreClients, open_stage_clients
from clawbus.bus.settings import Settings
from clawbus.bus.topology import ledger_table_name, sessions_table_name
from clawbus.storage import DynamoSessionIndex, SessionEntry
from clawbus.storage.backends import idempotency_store, shared_reads
from tests.conftest import Bus


async def test_reads_of_two_tables_asked_together_make_one_request_and_each_gets_its_own(bus: Bus) -> None:
    now = datetime.now(UTC)
    requests: dict[str, int] = {}
    async with open_stage_clients(Settings(aws=bus.aws), AgentStoreClients, requests) as clients:
        reads = shared_reads(clients.dynamodb)
        ledger = idempotency_store(clients.dynamodb, ledger_table_name(bus.prefix), reads)
        sessions = DynamoSessionIndex(clients.dynamodb, sessions_table_name(bus.prefix), reads)
        await ledger.record(["turn:kept"], now, ttl_s=3600, data={"reply_id": "r1"})
        await ledger.record(["turn:expired"], now, ttl_s=1, data={"reply_id": "r0"})
        await sessions.update(
            "main", "agent:main:main", lambda _: SessionEntry(session_id="s1", queue_mode="collect")
        )

        before = dict(requests)
        found, entry, absent = await asyncio.gather(
            ledger.get_many(["turn:kept", "turn:expired", "turn:never"], now + timedelta(seconds=10)),
            sessions.get("main", "agent:main:main"),
            sessions.get("main", "agent:main:other"),
        )
        made = {k: v - before.get(k, 0) for k, v in requests.items() if v != before.get(k, 0)}

    assert {key: record.data for key, record in found.items()} == {"turn:kept": {"reply_id": "r1"}}
    assert entry is not None
    assert entry.queue_mode == "collect"
    assert absent is None
    assert made == {"dynamodb": 1, "dynamodb.BatchGetItem": 1}
