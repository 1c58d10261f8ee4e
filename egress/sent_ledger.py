"""The sent ledger: which chunks of which reply a platform already has, so a redelivery skips them.

SQS delivers at least once: a worker that dies after the platform accepted a message but before the queue
message was deleted gets the reply again. Before deleting, the worker records each chunk's platform
message id here (one item per chunk, `sent:<channel>:<reply_id>:<part>.<chunk>` in `<prefix>-ledger`,
written with a conditional put), and on every delivery it skips the chunks it finds.

Records expire after `ttl_days` (DynamoDB TTL on `expires_at`, at least 7 days, longer than any
redelivery). DynamoDB deletes expired items lazily (and the loopback API never does), so a read also
checks `expires_at` itself.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import ClientError

from clawbus.bus.aws import classify_client_error, map_aws_errors
from clawbus.bus.logging import log_event

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

logger = logging.getLogger(__name__)
DAY_S = 24 * 3600


def sent_key(channel: str, reply_id: str, part: int, chunk: int) -> str:
    """The ledger key of one chunk of one reply part on one channel."""
    return f"sent:{channel}:{reply_id}:{part}.{chunk}"


class SentLedger(Protocol):
    """Where sent chunks are remembered; both calls are safe to retry."""

    async def sent(self, key: str, now: float) -> str | None:
        """The platform message id recorded for `key`, or None if it was never sent (or expired)."""
        ...

    async def record(self, key: str, message_id: str, now: float) -> None:
        """Remember that `key` went out as `message_id` (a second record of the same key is a no-op)."""
        ...


class DynamoSentLedger:
    """`SentLedger` on the `<prefix>-ledger` table (hash key `pk`, TTL attribute `expires_at`)."""

    def __init__(self, dynamodb: DynamoDBClient, table: str, ttl_days: int = 8) -> None:
        self._ddb = dynamodb
        self._table = table
        self._ttl_s = ttl_days * DAY_S

    async def sent(self, key: str, now: float) -> str | None:
        """See `SentLedger.sent`; raises a classified error when the table cannot be read."""
        with map_aws_errors(f"GetItem {self._table}"):
            response = await self._ddb.get_item(
                TableName=self._table, Key={"pk": {"S": key}}, ConsistentRead=True
            )
        item = response.get("Item")
        if item is None or float(item.get("expires_at", {}).get("N", "0")) <= now:
            return None
        return item.get("message_id", {}).get("S", "")

    async def record(self, key: str, message_id: str, now: float) -> None:
        """See `SentLedger.record`; the put succeeds only over no item or an expired one."""
        try:
            await self._ddb.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": key},
                    "message_id": {"S": message_id},
                    "sent_at": {"N": str(int(now))},
                    "expires_at": {"N": str(int(now) + self._ttl_s)},
                },
                ConditionExpression="attribute_not_exists(pk) OR expires_at <= :now",
                ExpressionAttributeValues={":now": {"N": str(int(now))}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                log_event(logger, "egress.ledger.already_recorded", key=key, message_id=message_id)
                return
            raise classify_client_error(exc, f"PutItem {self._table}") from exc
