"""Where a turn's progress draft is remembered: its platform message id, beside the turn's send receipts.

One idempotency record per turn and channel (`storage/idempotency.py`, `draft:<channel>:<turn reply id>`
in `<prefix>-ledger`, the table of the sent ledger): claimed under a lease while a worker posts the draft,
completed with the draft's message id once the platform has it, and completed again with `final` when
the answer was edited into it. A restarted worker reads it and edits the same message; a progress message
arriving after the answer (a re-run turn's, past the topic's 5-minute deduplication) finds it final and
leaves it alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from clawbus.egress.core.draft_plan import DraftRecord
from clawbus.egress.sent_ledger import DAY_S
from clawbus.storage.backends import idempotency_store
from clawbus.storage.idempotency import Claimed, Status

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient


class DraftLedger:
    """Drafts as records of the `<prefix>-ledger` table; every call is safe to retry."""

    def __init__(self, dynamodb: DynamoDBClient, table: str, ttl_days: int = 8, *, lease_s: int = 60) -> None:
        self._store = idempotency_store(dynamodb, table)
        self._ttl_s = ttl_days * DAY_S
        self._lease_s = lease_s

    async def find(self, key: str, now: datetime) -> DraftRecord | None:
        """The draft (None: never posted, released or expired); a draft being posted has no message id."""
        record = await self._store.get(key, now)
        if record is None:
            return None
        if record.status is not Status.COMPLETED:
            return DraftRecord(None)
        return DraftRecord(record.data.get("message_id") or None, final=record.data.get("final") == "1")

    async def claim(self, key: str, now: datetime) -> bool:
        """Claim the right to post the draft; False when another worker holds or completed it."""
        claim = await self._store.claim(key, now, lease_s=self._lease_s, ttl_s=self._ttl_s)
        return isinstance(claim, Claimed)

    async def opened(self, key: str, message_id: str, now: datetime) -> None:
        """The platform has the draft as `message_id`."""
        await self._store.complete(key, now, ttl_s=self._ttl_s, data={"message_id": message_id})

    async def finalised(self, key: str, message_id: str, now: datetime) -> None:
        """The answer was edited into the draft: progress must leave it alone from now on."""
        data = {"message_id": message_id, "final": "1"}
        await self._store.complete(key, now, ttl_s=self._ttl_s, data=data)

    async def release(self, key: str) -> None:
        """The draft's post certainly failed: a later progress message may try again."""
        await self._store.release(key)
