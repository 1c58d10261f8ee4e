"""The record store against the loopback AWS API: conditions, versions, TTL on read, typed errors."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from clawbus.bus.clients import AgentStoreClients, open_stage_clients
from clawbus.bus.clock import utc_now
from clawbus.bus.errors import CorruptRecord, Throttled, TooLarge, VersionConflict
from clawbus.bus.settings import AwsSettings, Settings
from clawbus.bus.topology import cron_table_name, ledger_table_name
from clawbus.storage import DynamoRecordStore, Record, absent_or_expired, mutate
from tests.conftest import REGION, Bus
from tests.helpers import free_port, lose_landed_responses, wait_for

NOW = 1_800_000_000


def at(offset_s: int) -> datetime:
    """`NOW` plus `offset_s`, as the aware datetime the stores take."""
    return datetime.fromtimestamp(NOW + offset_s, UTC)


@pytest.fixture
async def clients(bus: Bus) -> AsyncIterator[AgentStoreClients]:
    async with open_stage_clients(Settings(aws=bus.aws), AgentStoreClients) as opened:
        yield opened


@pytest.fixture
def ledger(bus: Bus, clients: AgentStoreClients) -> DynamoRecordStore:
    return DynamoRecordStore(clients.dynamodb, ledger_table_name(bus.prefix), ttl_attribute="expires_at")


@pytest.fixture
def cron(bus: Bus, clients: AgentStoreClients) -> DynamoRecordStore:
    return DynamoRecordStore(clients.dynamodb, cron_table_name(bus.prefix), range_key="sk")


async def test_a_record_reads_back_with_its_types(ledger: DynamoRecordStore) -> None:
    item = {"pk": "k", "n": 3, "f": 1.5, "ok": True, "tags": frozenset({"a", "b"}), "l": ["x"], "m": {"y": 1}}
    await ledger.put(item)
    record = await ledger.get({"pk": "k"}, now=utc_now())
    assert record is not None
    assert record.fields == item
    assert await ledger.get({"pk": "other"}, now=utc_now()) is None


async def test_put_if_absent_refuses_a_live_record_and_replaces_an_expired_one(
    ledger: DynamoRecordStore,
) -> None:
    await ledger.put_if_absent({"pk": "in:1", "v": "first", "expires_at": NOW + 10}, now=at(0))
    with pytest.raises(VersionConflict, match=r"in:1.*re-read"):
        await ledger.put_if_absent({"pk": "in:1", "v": "second", "expires_at": NOW + 20}, now=at(5))
    # The loopback API never expires items: the store treats a record past its TTL as gone, on read too.
    assert await ledger.get({"pk": "in:1"}, now=at(10)) is None
    await ledger.put_if_absent({"pk": "in:1", "v": "third", "expires_at": NOW + 40}, now=at(10))
    found = await ledger.get({"pk": "in:1"}, now=at(11))
    assert found is not None
    assert found.text("v") == "third"


async def test_put_if_version_refuses_a_stale_version(ledger: DynamoRecordStore) -> None:
    assert await ledger.put_if_version({"pk": "doc", "body": "one"}, 0) == 1
    assert await ledger.put_if_version({"pk": "doc", "body": "two"}, 1) == 2
    with pytest.raises(VersionConflict):
        await ledger.put_if_version({"pk": "doc", "body": "lost"}, 1)
    with pytest.raises(VersionConflict):
        await ledger.put_if_version({"pk": "doc", "body": "lost"}, 0)
    record = await ledger.get({"pk": "doc"}, now=utc_now())
    assert record is not None
    assert (record.text("body"), record.whole("version")) == ("two", 2)
    # A record past its TTL reads as absent, so a writer starts it over from version 0.
    await ledger.put({"pk": "old", "version": 5, "expires_at": 1})
    assert await ledger.get({"pk": "old"}, now=utc_now()) is None
    assert await ledger.put_if_version({"pk": "old", "expires_at": NOW * 2}, 0) == 1


@pytest.mark.parametrize("writers", [12, pytest.param(60, marks=pytest.mark.slow)])
async def test_concurrent_writers_lose_no_update(ledger: DynamoRecordStore, writers: int) -> None:

    def append(name: str):  # type: ignore[no-untyped-def]
        def change(current: Record | None) -> dict[str, object]:
            names = current.string_list("names", []) if current else []
            return {"pk": "counter", "names": [*names, name]}

        return change

    await asyncio.gather(
        *(mutate(ledger, {"pk": "counter"}, append(f"w{i}"), attempts=4 * writers) for i in range(writers))
    )
    record = await ledger.get({"pk": "counter"}, now=utc_now())
    assert record is not None
    assert sorted(record.string_list("names")) == sorted(f"w{i}" for i in range(writers))
    assert record.whole("version") == writers


async def test_update_adds_to_a_set_and_checks_its_condition(ledger: DynamoRecordStore) -> None:
    await ledger.update({"pk": "allow"}, add={"senders": frozenset({"a"})})
    after = await ledger.update({"pk": "allow"}, add={"senders": frozenset({"b"})}, set_={"state": "x"})
    assert after.string_set("senders") == {"a", "b"}
    with pytest.raises(VersionConflict):
        await ledger.update(
            {"pk": "allow"}, set_={"state": "y"}, condition=absent_or_expired("expires_at", at(0))
        )


async def test_put_all_writes_every_item_or_none(ledger: DynamoRecordStore) -> None:
    await ledger.put({"pk": "turn:b", "reply": "earlier", "expires_at": NOW + 100})
    items = [{"pk": f"turn:{e}", "reply": "ours", "expires_at": NOW + 100} for e in "abc"]
    with pytest.raises(VersionConflict):
        await ledger.put_all(items, condition=absent_or_expired("expires_at", at(0)))
    assert [r.text("pk") for r in await ledger.get_many([{"pk": "turn:a"}, {"pk": "turn:b"}], now=at(0))] == [
        "turn:b"
    ]


async def test_query_pages_a_partition_in_order(cron: DynamoRecordStore) -> None:
    for i in range(7):
        await cron.put({"pk": "run:j", "sk": f"{i:02d}", "body": "x" * 50})
    await cron.put({"pk": "run:other", "sk": "00"})
    newest = await cron.query({"pk": "run:j"}, newest_first=True, limit=3, now=utc_now())
    assert [r.text("sk") for r in newest] == ["06", "05", "04"]
    after = await cron.query({"pk": "run:j"}, after="04", now=utc_now())
    assert [r.text("sk") for r in after] == ["05", "06"]
    await cron.delete({"pk": "run:j", "sk": "06"})
    await cron.delete({"pk": "run:j", "sk": "06"})  # already gone: nothing happens
    assert len(await cron.query({"pk": "run:j"}, now=utc_now())) == 6


async def test_a_malformed_record_says_which_and_how_to_repair(ledger: DynamoRecordStore, bus: Bus) -> None:
    table = ledger_table_name(bus.prefix)
    bus.client("dynamodb").put_item(TableName=table, Item={"pk": {"S": "turn:x"}, "reply_id": {"N": "7"}})
    record = await ledger.get({"pk": "turn:x"}, now=utc_now())
    assert record is not None
    with pytest.raises(CorruptRecord, match=r"'reply_id' is a int.*delete-item --table-name " + table):
        record.text("reply_id")
    with pytest.raises(CorruptRecord, match=r"'publications' is missing"):
        record.json("publications")


async def test_an_oversized_record_is_refused_before_it_is_sent(ledger: DynamoRecordStore) -> None:
    with pytest.raises(TooLarge, match=r"400 KB.*state bucket"):
        await ledger.put({"pk": "big", "body": "x" * 420_000})
    assert await ledger.get({"pk": "big"}, now=utc_now()) is None


@pytest.fixture
def throttling_endpoint() -> Iterator[str]:
    """A loopback endpoint that answers every DynamoDB call with ProvisionedThroughputExceeded."""

    async def throttle(_request: Request) -> JSONResponse:
        body = {
            "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            "message": "The level of configured provisioned throughput for the table was exceeded.",
        }
        return JSONResponse(body, status_code=400, media_type="application/x-amz-json-1.0")

    port = free_port()
    app = Starlette(routes=[Route("/", throttle, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=10, what="throttling endpoint")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


async def test_throttling_comes_out_as_the_retryable_error(throttling_endpoint: str) -> None:
    settings = Settings(aws=AwsSettings(endpoint_url=throttling_endpoint, region=REGION))
    async with open_stage_clients(settings, AgentStoreClients) as clients:
        store = DynamoRecordStore(clients.dynamodb, "t-ledger")
        with pytest.raises(Throttled, match="PutItem t-ledger: ProvisionedThroughputExceededException"):
            await store.put_if_version({"pk": "k"}, 0)


async def test_a_conditional_put_whose_lost_response_is_retried_is_the_writers_own(
    ledger: DynamoRecordStore, clients: AgentStoreClients
) -> None:
    # botocore retries a PutItem whose response it lost; when the first attempt had landed, the retry's
    # condition fails against the writer's own item. A claim told "conflict" would think someone else
    # holds it (a message dropped as a duplicate, a transcript batch appended twice).
    landed = lose_landed_responses(clients.dynamodb, "dynamodb.PutItem", times=2)
    claim = {"pk": "in:telegram:1", "state": "in_progress", "expires_at": NOW + 60}
    await ledger.put_if_absent(claim, now=at(0))
    assert await ledger.put_if_version({"pk": "doc", "text": "one"}, 0) == 1
    assert landed == [200, 200]
    record = await ledger.get({"pk": "in:telegram:1"}, now=at(0))
    assert record is not None
    assert record.fields == claim
    with pytest.raises(VersionConflict):  # a lost race is still one: the item holds another writer's
        await ledger.put_if_absent({**claim, "state": "completed"}, now=at(0))
    with pytest.raises(VersionConflict):
        await ledger.put_if_version({"pk": "doc", "text": "two"}, 0)
