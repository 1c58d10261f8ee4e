"""The one idempotency layer under the ledgers: its state machine on the real (loopback) DynamoDB API,
and records the ledgers wrote before the layer existed still reading the same."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from clawbus.bus.clients import AgentStoreClients, open_stage_clients
from clawbus.bus.settings import Settings
from clawbus.bus.topology import ledger_table_name
from clawbus.channels.contracts import SendIntent
from clawbus.dispatcher.ledger import Publication, StoredTurn, TurnLedger
from clawbus.egress.core.send_once import HeldIntent, SendReceipt
from clawbus.egress.sent_ledger import DynamoSentLedger
from clawbus.ingress.dedup_store import Claim, DynamoDedupStore
from clawbus.storage.idempotency import Busy, Claimed, Done, Status
from clawbus.storage.idempotency_dynamodb import DynamoIdempotencyStore
from tests.conftest import Bus

NOW = datetime.fromtimestamp(1_800_000_000, UTC)
EPOCH = 1_800_000_000


def later(seconds: int) -> datetime:
    return NOW + timedelta(seconds=seconds)


async def test_claim_complete_expire_stale_lease_and_release(bus: Bus) -> None:
    async with open_stage_clients(Settings(aws=bus.aws), AgentStoreClients) as clients:
        store = DynamoIdempotencyStore(clients.dynamodb, ledger_table_name(bus.prefix))

        first = await store.claim("in:e1", NOW, lease_s=30, ttl_s=3600)
        assert isinstance(first, Claimed)
        assert isinstance(await store.claim("in:e1", later(10), lease_s=30, ttl_s=3600), Busy)
        # the holder died: once its lease ran out, the next claim takes the key over
        assert isinstance(await store.claim("in:e1", later(31), lease_s=30, ttl_s=3600), Claimed)

        await store.complete("in:e1", later(32), ttl_s=3600, data={"reply": "r1"})
        done = await store.claim("in:e1", later(40), lease_s=30, ttl_s=3600)
        assert isinstance(done, Done)
        assert done.record.status is Status.COMPLETED
        assert done.record.data == {"reply": "r1"}
        assert done.record.expires_at == later(32 + 3600)

        assert await store.get("in:e1", later(32 + 3600)) is None  # expired: absent on read
        assert isinstance(await store.claim("in:e1", later(32 + 3600), lease_s=30, ttl_s=3600), Claimed)

        await store.release("in:e1")
        assert await store.get("in:e1", later(33 + 3600)) is None
        assert isinstance(await store.claim("in:e1", later(33 + 3600), lease_s=30, ttl_s=3600), Claimed)


async def test_a_holder_ends_its_own_lease_early_and_only_its_own(bus: Bus) -> None:
    """`lapse`: a claim whose work may or may not have happened is kept, with its data, but its lease
    ends now, so the next claim takes it at once (knowing to check first); a holder whose claim was
    taken over, or completed, changes nothing."""
    async with open_stage_clients(Settings(aws=bus.aws), AgentStoreClients) as clients:
        store = DynamoIdempotencyStore(clients.dynamodb, ledger_table_name(bus.prefix))
        mine = {"nonce": "n1"}
        assert isinstance(await store.claim("sent:c1", NOW, lease_s=60, ttl_s=3600, data=mine), Claimed)
        assert isinstance(await store.claim("sent:c1", later(5), lease_s=60, ttl_s=3600), Busy)

        assert await store.lapse("sent:c1", later(5), ttl_s=3600, data=mine)
        kept = await store.get("sent:c1", later(5))
        assert kept is not None
        assert kept.status is Status.IN_PROGRESS
        assert kept.data == mine
        theirs = {"nonce": "n2"}
        taken = await store.claim("sent:c1", later(6), lease_s=60, ttl_s=3600, data=theirs)
        assert isinstance(taken, Claimed)  # at once, not 60 s after the first claim

        assert not await store.lapse("sent:c1", later(7), ttl_s=3600, data=mine)  # no longer mine
        assert isinstance(await store.claim("sent:c1", later(8), lease_s=60, ttl_s=3600), Busy)
        await store.complete("sent:c1", later(9), ttl_s=3600, data={"message_id": "m1"})
        assert not await store.lapse("sent:c1", later(10), ttl_s=3600, data=theirs)  # completed
        done = await store.get("sent:c1", later(10))
        assert done is not None
        assert done.status is Status.COMPLETED


async def test_records_the_ledgers_wrote_before_the_layer_still_read(bus: Bus) -> None:
    table = ledger_table_name(bus.prefix)
    ddb = bus.client("dynamodb")
    publication = Publication(body="{}", channel="webchat", kind="final", group_id="g", dedup_id="d")
    old_items = [
        {"pk": {"S": "in:old"}, "state": {"S": "done"}, "expires_at": {"N": str(EPOCH + 100)}},
        {
            "pk": {"S": "in:held"},
            "state": {"S": "pending"},
            "lease_until": {"N": str(EPOCH + 30)},
            "expires_at": {"N": str(EPOCH + 100)},
        },
        {
            "pk": {"S": "turn:old"},
            "reply_id": {"S": "r-old"},
            "publications": {"S": json.dumps([publication.model_dump()])},
            "expires_at": {"N": str(EPOCH + 100)},
        },
        {
            "pk": {"S": "sent:telegram:r-old:0.0"},
            "message_id": {"S": "42"},
            "sent_at": {"N": str(EPOCH)},
            "expires_at": {"N": str(EPOCH + 100)},
        },
    ]
    for item in old_items:
        ddb.put_item(TableName=table, Item=item)

    async with open_stage_clients(Settings(aws=bus.aws), AgentStoreClients) as clients:
        dedup = DynamoDedupStore(clients.dynamodb, table, 3600)
        assert await dedup.claim("in:old", NOW) is Claim.DONE
        assert await dedup.claim("in:held", NOW) is Claim.PENDING
        assert await dedup.claim("in:held", later(31)) is Claim.CLAIMED  # its lease ran out

        turns = TurnLedger(clients.dynamodb, table, 3600)
        assert await turns.lookup(["old"], NOW) == {"old": StoredTurn("r-old", (publication,))}
        assert await turns.record(["old"], StoredTurn("r-new", ()), NOW) == StoredTurn(
            "r-old", (publication,)
        )

        sent = DynamoSentLedger(clients.dynamodb, table)
        assert await sent.sent("sent:telegram:r-old:0.0", NOW) == "42"
        assert await sent.sent("sent:telegram:r-old:0.0", later(100)) is None  # expired


async def test_a_new_chunk_is_intended_without_a_read_and_concurrent_receipts_share_one_write(
    bus: Bus,
) -> None:
    """Egress's two writes per chunk: `intend_new` takes only a key with no live record (never an
    interrupted intent, which must be reconciled first), and receipts of concurrent sends go out in one
    `BatchWriteItem`, each sender returning only once its own receipt is stored."""
    requests: dict[str, int] = {}
    async with open_stage_clients(Settings(aws=bus.aws), AgentStoreClients, requests) as clients:
        ledger = DynamoSentLedger(clients.dynamodb, ledger_table_name(bus.prefix), lease_s=60)
        keys = [f"sent:telegram:r{n}:0.0" for n in range(12)]
        before = requests["dynamodb"]
        assert all(
            await asyncio.gather(*(ledger.intend_new(SendIntent(k, f"nonce{k}", NOW), NOW) for k in keys))
        )
        assert requests["dynamodb"] - before == 12  # one conditional put each, no read
        before = requests["dynamodb"]
        await asyncio.gather(*(ledger.receipt(SendReceipt(k, f"m{n}"), later(1)) for n, k in enumerate(keys)))
        assert requests["dynamodb"] - before == 1
        assert [await ledger.find(k, later(2)) for k in keys] == [
            SendReceipt(k, f"m{n}") for n, k in enumerate(keys)
        ]
        # a receipt stands, and an interrupted intent (its lease ran out) is not taken without a reconcile
        assert not await ledger.intend_new(SendIntent(keys[0], "again", later(3)), later(3))
        held = "sent:telegram:held:0.0"
        assert await ledger.intend_new(SendIntent(held, "n", NOW), NOW)
        assert not await ledger.intend_new(SendIntent(held, "n2", later(120)), later(120))
        assert isinstance(await ledger.find(held, later(120)), HeldIntent)
