"""The turn ledger: which inbound events have been answered, and with what (DynamoDB, conditional writes).

One item per consumed event, `turn:<event_id>`, written once when its turn is done and before its reply
is published. It holds the exact messages published for the turn, so a redelivered message (a crash
after the write, after the publish, or before the delete; a replayed dead letter) republishes the stored
reply instead of running the turn again — SNS FIFO and egress drop the copy by its id. The write is
conditional (absent, or expired), so two runs of one turn racing each other publish the first one's
reply. A turn that died before its record was written left nothing behind: it is simply run again.

Items expire after `ttl_days` (DynamoDB TTL); moto never expires items, so expiry is also checked on read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

from clawbus.bus.aws import classify_client_error, map_aws_errors
from clawbus.bus.errors import Unavailable

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient


class Publication(BaseModel):
    """One message published for a turn, exactly as it went to SNS."""

    model_config = ConfigDict(frozen=True)

    body: str
    channel: str
    kind: str
    group_id: str
    dedup_id: str


@dataclass(frozen=True)
class StoredTurn:
    """A finished turn: its reply id and what was published (empty when the agent stayed silent)."""

    reply_id: str
    publications: tuple[Publication, ...]

    def to_item_fields(self) -> dict[str, Any]:
        payload = json.dumps([p.model_dump() for p in self.publications])
        return {"reply_id": {"S": self.reply_id}, "publications": {"S": payload}}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> StoredTurn:
        publications = json.loads(item["publications"]["S"])
        return cls(item["reply_id"]["S"], tuple(Publication.model_validate(p) for p in publications))


def _key(event_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"turn:{event_id}"}}


class _Taken(Exception):  # a signal inside the ledger, never raised out of it
    """A conditional write found the record already there."""


class TurnLedger:
    """Records finished turns once; tells which events are already answered."""

    def __init__(self, dynamodb: DynamoDBClient, table: str, ttl_s: int) -> None:
        self._ddb = dynamodb
        self._table = table
        self._ttl_s = ttl_s

    async def lookup(self, event_ids: Sequence[str], now: int) -> dict[str, StoredTurn]:
        """The finished turns among `event_ids` (expired records count as absent)."""
        found: dict[str, StoredTurn] = {}
        with map_aws_errors(f"BatchGetItem {self._table}"):
            response = await self._ddb.batch_get_item(
                RequestItems={self._table: {"Keys": [_key(e) for e in event_ids], "ConsistentRead": True}}
            )
        for item in response.get("Responses", {}).get(self._table, []):
            if int(item.get("expires_at", {}).get("N", "0")) > now:
                found[item["pk"]["S"].removeprefix("turn:")] = StoredTurn.from_item(item)
        return found

    async def record(self, event_ids: Sequence[str], turn: StoredTurn, now: int) -> StoredTurn:
        """Record `turn` for every event once; returns the turn that stands (ours, or an earlier one's).

        One conditional `PutItem` for a one-event turn; a merged turn's items go in one transaction, so it
        is never half recorded. (Turns are not combined into shared transactions: the loopback API's
        TransactWriteItems copies the whole table per call and races under concurrent calls.)
        """
        items = [
            {**_key(e), **turn.to_item_fields(), "expires_at": {"N": str(now + self._ttl_s)}}
            for e in event_ids
        ]
        try:
            await self._transact(items, now)
        except _Taken:
            existing = await self.lookup(event_ids, now)
            if existing:  # another run of this turn finished first: its reply stands
                return existing[event_ids[0]] if event_ids[0] in existing else next(iter(existing.values()))
            raise Unavailable(f"turn ledger {self._table}: a record was there and is gone; retry") from None
        return turn

    async def _transact(self, items: list[dict[str, Any]], now: int) -> None:
        condition = "attribute_not_exists(pk) OR expires_at < :now"
        values = {":now": {"N": str(now)}}
        try:
            if len(items) == 1:
                await self._ddb.put_item(
                    TableName=self._table,
                    Item=items[0],
                    ConditionExpression=condition,
                    ExpressionAttributeValues=values,
                )
                return
            await self._ddb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": item,
                            "ConditionExpression": condition,
                            "ExpressionAttributeValues": values,
                        }
                    }
                    for item in items
                ]
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("ConditionalCheckFailedException", "TransactionCanceledException"):
                raise _Taken from exc
            raise classify_client_error(exc, f"record turn in {self._table}") from exc
