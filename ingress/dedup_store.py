"""The durable dedup record of inbound events: one conditional put per platform event.

SQS FIFO drops a repeated deduplication id for 5 minutes only; platforms retry for hours (Slack) to
7 days (WhatsApp). So before an event is enqueued, ingress claims `in:<event id>` in `<prefix>-ledger`
with a conditional put. A claim is `pending` while the event is being enqueued and `done` (kept `ttl_s`,
at least 7 days) after. A claim succeeds when no record exists, the record has expired (DynamoDB
deletes expired items lazily, and the loopback API never does, so `expires_at` is checked on every
claim), or a `pending` lease ran out.

A `pending` record is not a lock. It cannot say whether its holder is still enqueueing or was killed
mid-enqueue (a Lambda or a relay has no liveness anyone could check), and waiting out its lease made
the platform's retry, and with a polling relay every chat behind it, wait 30-60 s after a crash. The
enqueue itself is idempotent (the event's SQS deduplication id; past SQS's 5-minute window the
dispatcher's turn ledger answers a copy from its record), so a request that finds a pending claim
enqueues too and marks the event done (`Claim.PENDING`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from clawbus.storage.backends import idempotency_store
from clawbus.storage.idempotency import Claimed, Done

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

LEASE_S = 30  # how long a claim counts as fresh; a pending claim never blocks a retry (see module)


class Claim(StrEnum):
    """The outcome of claiming an event."""

    CLAIMED = "claimed"  # ours: enqueue it, then `complete` (or `release` when the enqueue fails)
    DONE = "done"  # handled before: acknowledge, do nothing
    PENDING = "pending"  # another request claimed it, alive or dead: enqueue too, `complete`, never release


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
        return Claim.DONE if isinstance(result, Done) else Claim.PENDING

    async def complete(self, key: str, now: datetime) -> None:
        """Mark `key` handled for `ttl_s` from `now`."""
        await self._store.complete(key, now, ttl_s=self._ttl_s)

    async def release(self, key: str) -> None:
        """Give up a claim (the enqueue failed), so the platform's retry can claim it again."""
        await self._store.release(key)
