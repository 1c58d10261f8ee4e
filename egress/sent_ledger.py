"""The sent ledger: which chunks of which reply a platform already has, so a redelivery skips them.

SQS delivers at least once: a worker that dies after the platform accepted a message but before the queue
message was deleted gets the reply again. Before deleting, the worker records each chunk's platform
message id here (one completed idempotency record per chunk, `storage/idempotency.py`,
`sent:<channel>:<reply_id>:<part>.<chunk>` in `<prefix>-ledger`, written with a conditional put), and on
every delivery it skips the chunks it finds.

Records expire after `ttl_days` (DynamoDB TTL on `expires_at`, at least 7 days, longer than any
redelivery). DynamoDB deletes expired items lazily (and the loopback API never does), so a read also
checks `expires_at` itself.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from clawbus.bus.logging import log_event
from clawbus.storage.backends import idempotency_store
from clawbus.storage.idempotency import AlreadyDone

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

logger = logging.getLogger(__name__)
DAY_S = 24 * 3600


def sent_key(channel: str, reply_id: str, part: int, chunk: int) -> str:
    """The ledger key of one chunk of one reply part on one channel."""
    return f"sent:{channel}:{reply_id}:{part}.{chunk}"


class SentLedger(Protocol):
    """Where sent chunks are remembered; both calls are safe to retry."""

    async def sent(self, key: str, now: datetime) -> str | None:
        """The platform message id recorded for `key`, or None if it was never sent (or expired)."""
        ...

    async def record(self, key: str, message_id: str, now: datetime) -> None:
        """Remember that `key` went out as `message_id` (a second record of the same key is a no-op)."""
        ...


class DynamoSentLedger:
    """`SentLedger` as a view on the `<prefix>-ledger` table's idempotency records."""

    def __init__(self, dynamodb: DynamoDBClient, table: str, ttl_days: int = 8) -> None:
        self._store = idempotency_store(dynamodb, table)
        self._ttl_s = ttl_days * DAY_S

    async def sent(self, key: str, now: datetime) -> str | None:
        """See `SentLedger.sent`; raises a classified error when the table cannot be read."""
        record = await self._store.get(key, now)
        return None if record is None else record.data.get("message_id", "")

    async def record(self, key: str, message_id: str, now: datetime) -> None:
        """See `SentLedger.record`; the first record of a key stands."""
        try:
            await self._store.record([key], now, ttl_s=self._ttl_s, data={"message_id": message_id})
        except AlreadyDone:
            log_event(logger, "egress.ledger.already_recorded", key=key, message_id=message_id)
