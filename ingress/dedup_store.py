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

from clawbus.storage.backends import idempotency_store
from clawbus.storage.idempotency import Claimed, Done

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
    """`DedupStore` as a view on the ledger's idempotency records (`storage/idempotency.py`)."""

    def __init__(self, dynamodb: DynamoDBClient, table: str, ttl_s: int) -> None:
        self._store = idempotency_store(dynamodb, table)
        self._ttl_s = ttl_s

    async def claim(self, key: str, now: datetime) -> Claim:
        """Claim `key`; safe to call again (a retry after a crash re-claims once the lease ran out)."""
        result = await self._store.claim(key, now, lease_s=LEASE_S, ttl_s=self._ttl_s)
        if isinstance(result, Claimed):
            return Claim.CLAIMED
        return Claim.DONE if isinstance(result, Done) else Claim.IN_PROGRESS

    async def complete(self, key: str, now: datetime) -> None:
        """Mark `key` handled for `ttl_s` from `now`."""
        await self._store.complete(key, now, ttl_s=self._ttl_s)

    async def release(self, key: str) -> None:
        """Give up a claim (the enqueue failed), so the platform's retry can claim it again."""
        await self._store.release(key)
