"""The idempotency layer's DynamoDB backend (`idempotency.py`'s state machine on the `<prefix>-ledger`
table): records as items with conditional writes, and one-key records inserted in batches
(`inserts_dynamodb.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from clawbus.bus.clock import epoch_s
from clawbus.bus.topology import LEDGER_TTL_ATTRIBUTE
from clawbus.storage.idempotency import (
    RESERVED,
    STORED_STATE,
    HeldBy,
    IdempotencyRecord,
    IdempotencyStore,
    Status,
    WriteIf,
)
from clawbus.storage.inserts_dynamodb import insert_each
from clawbus.storage.reads_dynamodb import SharedReads
from clawbus.storage.records import AllOf, AnyOf, Compare, Condition, Record, absent_or_expired
from clawbus.storage.records_dynamodb import DynamoRecordStore

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient


class DynamoIdempotencyStore(IdempotencyStore):
    """`IdempotencyStore` on the `<prefix>-ledger` table (hash key `pk`, TTL `expires_at`)."""

    def __init__(self, dynamodb: DynamoDBClient, table: str, reads: SharedReads | None = None) -> None:
        self._records = DynamoRecordStore(dynamodb, table, ttl_attribute=LEDGER_TTL_ATTRIBUTE, reads=reads)
        self._ddb = dynamodb

    @property
    def table(self) -> str:
        """The table's name (for messages)."""
        return self._records.table

    async def _get(self, key: str, now: datetime) -> IdempotencyRecord | None:
        found = await self._records.get({"pk": key}, now=now)  # GetItem (or a share of `reads`)
        return None if found is None else _from_item(found)

    async def _get_many(self, keys: Sequence[str], now: datetime) -> list[IdempotencyRecord]:  # BatchGetItem
        return [_from_item(r) for r in await self._records.get_many([{"pk": k} for k in keys], now=now)]

    async def _put(self, records: Sequence[IdempotencyRecord], now: datetime, write_if: WriteIf) -> None:
        condition: Condition | None = None
        if isinstance(write_if, HeldBy):
            held = (Compare(name, "=", value) for name, value in sorted(write_if.data.items()))
            condition = AllOf((Compare("state", "=", "pending"), *held))
        elif write_if != "always":
            condition = absent_or_expired(LEDGER_TTL_ATTRIBUTE, now)
        if write_if == "claimable":
            stale = AllOf((Compare("state", "=", "pending"), Compare("lease_until", "<", epoch_s(now))))
            condition = AnyOf((absent_or_expired(LEDGER_TTL_ATTRIBUTE, now), stale))
        await self._records.put_all([_to_item(r) for r in records], condition=condition)

    async def _put_each(self, records: Sequence[IdempotencyRecord]) -> list[Exception | None]:
        return await self._records.put_each([_to_item(r) for r in records])  # BatchWriteItem

    async def _insert_each(self, records: Sequence[IdempotencyRecord]) -> list[Exception | None]:
        items = [_to_item(r) for r in records]
        keys = [{"pk": r.key} for r in records]
        return await insert_each(self._ddb, self.table, keys, items)  # BatchExecuteStatement

    async def _delete(self, key: str) -> None:
        await self._records.delete({"pk": key})


def _to_item(record: IdempotencyRecord) -> dict[str, Any]:
    reserved = RESERVED & record.data.keys()
    if reserved:
        raise ValueError(f"idempotency data may not use the layer's own attributes {sorted(reserved)}")
    item: dict[str, Any] = {
        **record.data,
        "pk": record.key,
        "state": STORED_STATE[record.status],
    }
    if record.expires_at is not None:
        item[LEDGER_TTL_ATTRIBUTE] = epoch_s(record.expires_at)
    if record.lease_until is not None:
        item["lease_until"] = epoch_s(record.lease_until)
    return item


def _from_item(found: Record) -> IdempotencyRecord:
    state = found.text("state", "done")
    lease = found.fields.get("lease_until")
    expires = found.fields.get(LEDGER_TTL_ATTRIBUTE)  # a number: the store checked it on read
    return IdempotencyRecord(
        key=found.text("pk"),
        status=Status.IN_PROGRESS if state == "pending" else Status.COMPLETED,
        expires_at=datetime.fromtimestamp(int(expires), UTC) if isinstance(expires, int | float) else None,
        lease_until=datetime.fromtimestamp(int(lease), UTC) if isinstance(lease, int | float) else None,
        data={k: v for k, v in found.fields.items() if k not in RESERVED and isinstance(v, str)},
    )
