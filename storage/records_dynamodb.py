"""`RecordStore` on one DynamoDB table (aiobotocore), with its errors translated at this boundary.

Conditions compile to condition expressions with placeholder names and values, so attribute names that
are DynamoDB reserved words (`state`, `version`, `text`) need no care from callers.
`ConditionalCheckFailedException` (and a transaction cancelled by one) becomes `VersionConflict`;
throttling becomes `Throttled`, 5xx `Unavailable`; an item over the size limit `TooLarge`.

Except: a conditional `put` botocore retried (its answer lost) whose condition then failed against
exactly the item it sent, i.e. its own first attempt, which had landed, is its success (the item comes
back: `ReturnValuesOnConditionCheckFailure`). Not retried, an equal item stays a conflict (two claims
of a key in one second). `storage/blobs.py` does the same on S3; updates and transactions do not.

A store built with a `SharedReads` (`reads_dynamodb.py`) reads through it: its `get` and `get_many` share
`BatchGetItem` requests with the other stores' reads.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from clawbus.bus.aws import map_aws_errors, was_retried
from clawbus.bus.clock import epoch_s, utc_now
from clawbus.bus.errors import TooLarge, Unavailable, VersionConflict
from clawbus.bus.logging import log_event
from clawbus.storage._dynamodb_wire import Expression, from_attribute, to_attribute
from clawbus.storage.reads_dynamodb import SharedReads
from clawbus.storage.records import (
    VERSION_ATTRIBUTE,
    Absent,
    AnyOf,
    Compare,
    Condition,
    Item,
    Key,
    Record,
    absent_or_expired,
    check_size,
)

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

logger = logging.getLogger(__name__)


def _conflict(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    if error.get("Code") == "ConditionalCheckFailedException":
        return True
    if error.get("Code") != "TransactionCanceledException":
        return False
    reasons = exc.response.get("CancellationReasons", [])
    return any(r.get("Code") == "ConditionalCheckFailed" for r in reasons) or (
        "ConditionalCheckFailed" in str(error.get("Message", ""))
    )


def _is_written(error: BaseException | None, wire: Mapping[str, Any]) -> bool:
    """Whether a failed condition met exactly the item this put sent: its own earlier attempt, which
    landed although botocore did not get the answer (a read timeout, a reset) and sent it again."""
    if not isinstance(error, ClientError) or not was_retried(error) or "Item" not in error.response:
        return False  # not retried: a conflict, even with an equal item (two claims in one second)
    found: Mapping[str, Any] = error.response["Item"]  # type: ignore[typeddict-item]
    return _decoded(found) == _decoded(wire)


def _decoded(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: from_attribute(v) for k, v in item.items()}


class DynamoRecordStore:
    """`RecordStore` on a DynamoDB table with string keys `hash_key` (and `range_key`), optionally a TTL
    attribute checked on every read."""

    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table: str,
        *,
        hash_key: str = "pk",
        range_key: str | None = None,
        ttl_attribute: str | None = None,
        reads: SharedReads | None = None,
    ) -> None:
        self._ddb = dynamodb
        self._reads = reads
        self._table = table
        self._hash_key = hash_key
        self._range_key = range_key
        self._ttl = ttl_attribute

    @property
    def table(self) -> str:
        """The table's name."""
        return self._table

    def _key_of(self, item: Mapping[str, Any]) -> dict[str, str]:
        names = [self._hash_key, *([self._range_key] if self._range_key else [])]
        return {n: str(item[n]) for n in names}

    def _wire_key(self, key: Key) -> dict[str, Any]:
        return {k: {"S": v} for k, v in key.items()}

    def _live(self, raw: Mapping[str, Any], now: datetime) -> Record | None:
        fields = {k: from_attribute(v) for k, v in raw.items()}
        record = Record(self._table, self._key_of(fields), fields)
        if self._ttl is not None and self._ttl in fields:
            expires = fields[self._ttl]
            if not isinstance(expires, int | float) or isinstance(expires, bool):
                raise record.corrupt(f"TTL attribute {self._ttl!r} is not a number")
            if expires <= epoch_s(now):
                return None
        return record

    @contextlib.contextmanager
    def _errors(self, what: str, key: Key) -> Iterator[None]:
        with map_aws_errors(f"{what} {self._table}"):
            try:
                yield
            except ClientError as exc:
                if _conflict(exc):
                    raise VersionConflict(
                        f"record {dict(key)} in {self._table} changed (or exists) since it was read; "
                        "re-read it and try again"
                    ) from exc
                message = str(exc.response.get("Error", {}).get("Message", "")).lower()
                if "size" in message and "exceed" in message:
                    raise TooLarge(
                        f"record {dict(key)} for {self._table} is over DynamoDB's 400 KB item limit; "
                        "keep large bodies in the state bucket (a blob) and store its key"
                    ) from exc
                raise  # map_aws_errors classifies the rest

    async def get(self, key: Key, *, now: datetime) -> Record | None:
        """See `RecordStore.get` (a consistent read)."""
        if self._reads is not None:
            shared = await self._reads.get(self._table, [key], now)
            return self._live(shared[0], now) if shared else None
        with self._errors("GetItem", key):
            response = await self._ddb.get_item(
                TableName=self._table, Key=self._wire_key(key), ConsistentRead=True
            )
        raw = response.get("Item")
        return None if raw is None else self._live(raw, now)

    async def get_many(self, keys: Sequence[Key], *, now: datetime) -> list[Record]:
        """See `RecordStore.get_many` (one consistent BatchGetItem; unprocessed keys fetched again)."""
        if self._reads is not None:
            shared = [self._live(raw, now) for raw in await self._reads.get(self._table, keys, now)]
            return [record for record in shared if record is not None]
        pending: list[dict[str, Any]] = [self._wire_key(k) for k in keys]
        found: list[Record] = []
        for _ in range(5):
            if not pending:
                return found
            with self._errors("BatchGetItem", keys[0] if keys else {}):
                response = await self._ddb.batch_get_item(
                    RequestItems={self._table: {"Keys": pending, "ConsistentRead": True}}
                )
            for raw in response.get("Responses", {}).get(self._table, []):
                record = self._live(raw, now)
                if record is not None:
                    found.append(record)
            unprocessed = response.get("UnprocessedKeys", {}).get(self._table)
            pending = [dict(k) for k in unprocessed["Keys"]] if unprocessed else []
        raise Unavailable(f"BatchGetItem {self._table}: keys left unprocessed (throttled); retry")

    async def put(self, item: Item, *, condition: Condition | None = None) -> None:
        """See `RecordStore.put`."""
        key = self._key_of(item)
        check_size(self._table, key, item)
        expression = Expression()
        kwargs = expression.kwargs(condition, self._hash_key)
        wire = {k: to_attribute(v) for k, v in item.items()}
        if condition is not None:  # the item a failed condition met comes back: was it this very write?
            kwargs["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        try:
            with self._errors("PutItem", key):
                await self._ddb.put_item(TableName=self._table, Item=wire, **kwargs)
        except VersionConflict as exc:
            if not _is_written(exc.__cause__, wire):
                raise
            log_event(logger, "storage.record.put.landed", table=self._table)

    async def put_if_absent(self, item: Item, *, now: datetime) -> None:
        """See `RecordStore.put_if_absent` (without a TTL attribute: absent only)."""
        await self.put(item, condition=absent_or_expired(self._ttl, now) if self._ttl else Absent())

    async def put_if_version(self, item: Item, expected: int) -> int:
        """See `RecordStore.put_if_version` (an expired item counts as absent: version 0, as on read)."""
        same = Compare(VERSION_ATTRIBUTE, "=", expected)
        condition: Condition = same
        if expected == 0:
            gone = absent_or_expired(self._ttl, utc_now()) if self._ttl else Absent()
            condition = AnyOf((gone, same))
        await self.put({**item, VERSION_ATTRIBUTE: expected + 1}, condition=condition)
        return expected + 1

    async def put_all(self, items: Sequence[Item], *, condition: Condition | None = None) -> None:
        """See `RecordStore.put_all` (one item: a plain conditional put; more: TransactWriteItems)."""
        if len(items) == 1:
            await self.put(items[0], condition=condition)
            return
        puts = []
        for item in items:
            check_size(self._table, self._key_of(item), item)
            put: dict[str, Any] = {
                "TableName": self._table,
                "Item": {k: to_attribute(v) for k, v in item.items()},
            }
            put |= Expression().kwargs(condition, self._hash_key)
            puts.append({"Put": put})
        with self._errors("TransactWriteItems", self._key_of(items[0])):
            await self._ddb.transact_write_items(TransactItems=puts)  # type: ignore[arg-type]  # plain dicts

    async def put_each(self, items: Sequence[Item]) -> list[Exception | None]:
        """Unconditional puts of up to 25 items in one `BatchWriteItem` (unprocessed ones sent again);
        per item, None when written or the classified error that kept it out."""
        if len(items) > 25:
            raise ValueError(f"BatchWriteItem takes 25 items, got {len(items)}")
        wire = []
        for item in items:
            check_size(self._table, self._key_of(item), item)
            wire.append({"PutRequest": {"Item": {k: to_attribute(v) for k, v in item.items()}}})
        pending = list(range(len(items)))
        for _ in range(5):
            with self._errors("BatchWriteItem", self._key_of(items[pending[0]])):
                response = await self._ddb.batch_write_item(
                    RequestItems={self._table: [wire[i] for i in pending]}  # type: ignore[misc]  # plain dicts
                )
            left = response.get("UnprocessedItems", {}).get(self._table, [])
            if not left:
                return [None] * len(items)
            names = [self._hash_key, *([self._range_key] if self._range_key else [])]
            unwritten = [{n: r.get("PutRequest", {}).get("Item", {}).get(n) for n in names} for r in left]
            pending = [i for i in pending if self._wire_key(self._key_of(items[i])) in unwritten]
        error = Unavailable(f"BatchWriteItem {self._table}: items left unprocessed (throttled); retry")
        return [error if i in pending else None for i in range(len(items))]

    async def update(
        self,
        key: Key,
        *,
        set_: Mapping[str, Any] | None = None,
        add: Mapping[str, frozenset[str] | int] | None = None,
        condition: Condition | None = None,
    ) -> Record:
        """See `RecordStore.update` (UpdateItem, returning the whole item after)."""
        expression = Expression()
        clauses = []
        if set_:
            clauses.append(
                "SET " + ", ".join(f"{expression.name(k)} = {expression.value(v)}" for k, v in set_.items())
            )
        if add:
            clauses.append(
                "ADD " + ", ".join(f"{expression.name(k)} {expression.value(v)}" for k, v in add.items())
            )
        kwargs = expression.kwargs(condition, self._hash_key)
        with self._errors("UpdateItem", key):
            response = await self._ddb.update_item(
                TableName=self._table,
                Key=self._wire_key(key),
                UpdateExpression=" ".join(clauses),
                ReturnValues="ALL_NEW",
                **kwargs,
            )
        fields = {k: from_attribute(v) for k, v in response.get("Attributes", {}).items()}
        return Record(self._table, dict(key), fields)

    async def delete(self, key: Key, *, condition: Condition | None = None) -> None:
        """See `RecordStore.delete`."""
        kwargs = Expression().kwargs(condition, self._hash_key)
        with self._errors("DeleteItem", key):
            await self._ddb.delete_item(TableName=self._table, Key=self._wire_key(key), **kwargs)

    async def query(
        self,
        partition: Key,
        *,
        after: str | None = None,
        before: str | None = None,
        newest_first: bool = False,
        limit: int | None = None,
        now: datetime,
    ) -> list[Record]:
        """See `RecordStore.query` (consistent; pages followed until `limit` live records are found)."""
        expression = Expression()
        condition = f"{expression.name(self._hash_key)} = {expression.value(partition[self._hash_key])}"
        if after is not None and before is not None:
            raise ValueError("query takes one sort-key bound: after or before")  # DynamoDB allows one
        if after is not None and self._range_key:
            condition += f" AND {expression.name(self._range_key)} > {expression.value(after)}"
        if before is not None and self._range_key:
            condition += f" AND {expression.name(self._range_key)} < {expression.value(before)}"
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": expression.names,
            "ExpressionAttributeValues": expression.values,
            "ScanIndexForward": not newest_first,
            "ConsistentRead": True,
        }
        if limit is not None:
            kwargs["Limit"] = limit
        found: list[Record] = []
        while True:
            with self._errors("Query", partition):
                response = await self._ddb.query(**kwargs)
            found.extend(r for raw in response.get("Items", []) if (r := self._live(raw, now)) is not None)
            start = response.get("LastEvaluatedKey")
            if not start or (limit is not None and len(found) >= limit):
                return found[:limit] if limit is not None else found
            kwargs["ExclusiveStartKey"] = start
