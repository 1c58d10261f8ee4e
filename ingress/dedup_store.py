"""The durable dedup record of inbound events: one conditional put per platform event.

SQS FIFO drops a repeated deduplication id for 5 minutes only; platforms retry for hours (Slack) to
7 days (WhatsApp). So before an event is enqueued, ingress claims `in:<event id>` in `<prefix>-ledger`
with a conditional put. A claim is `pending` with a short lease while the event is being enqueued and
`done` (kept `ttl_s`, at least 7 days) after. A claim succeeds when no record exists, the record has
expired (DynamoDB deletes expired items lazily, and the loopback API never does, so `expires_at` is
checked on every claim), or a `pending` lease ran out (the process that held it died).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import ClientError

from clawbus.bus.aws import map_aws_errors

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

LEASE_S = 30  # longer than one enqueue; shorter than SQS's 5-minute dedup window


class Claim(StrEnum):
    """The outcome of claiming an event."""

    CLAIMED = "claimed"  # ours: enqueue it, then `complete`
    DONE = "done"  # handled before: acknowledge, do nothing
    IN_PROGRESS = "in_progress"  # another request holds a live lease: ask the platform to retry later


class DedupStore(Protocol):
    """Claims platform events so each is handled once."""

    async def claim(self, key: str, now: datetime) -> Claim: ...

    async def complete(self, key: str, now: datetime) -> None: ...

    async def release(self, key: str) -> None: ...


class DynamoDedupStore:
    """`DedupStore` on a DynamoDB table with hash key `pk` and TTL attribute `expires_at`."""

    def __init__(self, dynamodb: DynamoDBClient, table: str, ttl_s: int) -> None:
        self._db = dynamodb
        self._table = table
        self._ttl_s = ttl_s

    async def claim(self, key: str, now: datetime) -> Claim:
        """Claim `key`; safe to call again (a retry after a crash re-claims once the lease ran out)."""
        ts = int(now.timestamp())
        with map_aws_errors(f"PutItem {self._table}"):
            try:
                await self._db.put_item(
                    TableName=self._table,
                    Item={
                        "pk": {"S": key},
                        "state": {"S": "pending"},
                        "lease_until": {"N": str(ts + LEASE_S)},
                        "expires_at": {"N": str(ts + self._ttl_s)},
                    },
                    ConditionExpression="attribute_not_exists(pk) OR expires_at < :now "
                    "OR (#state = :pending AND lease_until < :now)",
                    ExpressionAttributeNames={"#state": "state"},
                    ExpressionAttributeValues={":now": {"N": str(ts)}, ":pending": {"S": "pending"}},
                )
            except ClientError as exc:
                if not condition_failed(exc):
                    raise
                return await self._existing(key)
        return Claim.CLAIMED

    async def _existing(self, key: str) -> Claim:
        with map_aws_errors(f"GetItem {self._table}"):
            response = await self._db.get_item(
                TableName=self._table, Key={"pk": {"S": key}}, ConsistentRead=True
            )
        state = response.get("Item", {}).get("state", {}).get("S")
        return Claim.DONE if state == "done" else Claim.IN_PROGRESS

    async def complete(self, key: str, now: datetime) -> None:
        """Mark `key` handled for `ttl_s` from `now`."""
        with map_aws_errors(f"PutItem {self._table}"):
            await self._db.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": key},
                    "state": {"S": "done"},
                    "expires_at": {"N": str(int(now.timestamp()) + self._ttl_s)},
                },
            )

    async def release(self, key: str) -> None:
        """Give up a claim (the enqueue failed), so the platform's retry can claim it again."""
        with map_aws_errors(f"DeleteItem {self._table}"):
            await self._db.delete_item(TableName=self._table, Key={"pk": {"S": key}})


def condition_failed(exc: ClientError) -> bool:
    """Whether a DynamoDB write was refused by its condition (someone else got there first)."""
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
