"""The sent ledger: a send intent before each platform call, a receipt after, so a chunk goes out once.

SQS delivers at least once: a worker that dies after the platform accepted a message but before the queue
message was deleted gets the reply again. Each chunk has one idempotency record
(`storage/idempotency.py`, `sent:<channel>:<reply_id>:<part>.<chunk>` in `<prefix>-ledger`):

- before the platform call, a claim: `in_progress` under a lease, with the chunk's nonce and the time of
  the first attempt (`SendIntent`); a chunk's first delivery writes it without reading first
  (`intend_new`: only where no record is live), so a chunk costs two writes, the intent and the receipt;
- after the platform's 200, the record is completed with the platform's message id (`SendReceipt`),
  which a redelivery skips and later edits (progress drafts, `/stop`) address. Receipts of concurrent
  sends share `BatchWriteItem` requests (unconditional puts; a receipt only ever completes its own
  intent), and each sender waits until its own receipt is written, so the order — receipt before the
  next chunk and before the delete — is unchanged.

An intent whose lease ran out is a send that was interrupted (its worker died between the call and the
receipt): egress reconciles it with the platform before posting again (`egress/core/send_once.py`).
The lease is the queue's visibility timeout: SQS hands the reply to another worker no sooner either.

Records expire after `ttl_days` (DynamoDB TTL on `expires_at`, at least 7 days, longer than any
redelivery). DynamoDB deletes expired items lazily (and the loopback API never does), so a read also
checks `expires_at` itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from clawbus.bus.batching import Batcher
from clawbus.bus.errors import CorruptRecord
from clawbus.channels.chunk_keys import send_nonce
from clawbus.channels.contracts import SendIntent
from clawbus.egress.core.send_once import ChunkRecord, HeldIntent, SendReceipt
from clawbus.storage.backends import idempotency_store
from clawbus.storage.idempotency import Claimed, IdempotencyRecord, Status

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

DAY_S = 24 * 3600


class SentLedger(Protocol):
    """Where intents and receipts are kept; every call is safe to retry."""

    async def find(self, key: str, now: datetime) -> ChunkRecord:
        """The chunk's receipt, its intent, or None (never tried, released or expired)."""
        ...

    async def intend(self, intent: SendIntent, now: datetime) -> bool:
        """Record the intent under a lease; False when another worker holds or completed it first."""
        ...

    async def intend_new(self, intent: SendIntent, now: datetime) -> bool:
        """Record the intent only when the chunk has no record at all (never tried, or expired); False
        otherwise, without saying why (`find` tells)."""
        ...

    async def receipt(self, receipt: SendReceipt, now: datetime) -> None:
        """Record that the chunk went out as `receipt.message_id` (completes the intent)."""
        ...

    async def forget(self, key: str) -> None:
        """Drop an intent whose post certainly failed (refused, rate limited), so a retry starts afresh."""
        ...

    async def interrupted(self, intent: SendIntent, now: datetime) -> None:
        """End this worker's lease on `intent` early, keeping it: its post timed out and asking the
        platform failed too, so the next delivery asks again at once instead of waiting the lease out.
        Nothing changes when the intent is no longer this worker's."""
        ...


class DynamoSentLedger:
    """`SentLedger` as a view on the `<prefix>-ledger` table's idempotency records."""

    def __init__(self, dynamodb: DynamoDBClient, table: str, ttl_days: int = 8, *, lease_s: int = 60) -> None:
        self._store = idempotency_store(dynamodb, table)
        self._ttl_s = ttl_days * DAY_S
        self._lease_s = lease_s
        # receipts of concurrent sends share BatchWriteItem requests; each caller waits for its own
        self._receipts: Batcher[tuple[SendReceipt, datetime]] = Batcher(self._write_receipts, max_size=25)

    async def find(self, key: str, now: datetime) -> ChunkRecord:
        """See `SentLedger.find`; raises a classified error when the table cannot be read."""
        return _chunk_record(await self._store.get(key, now))

    async def sent(self, key: str, now: datetime) -> str | None:
        """The recorded message id of `key`, or None when it has no receipt (yet)."""
        found = await self.find(key, now)
        return found.message_id if isinstance(found, SendReceipt) else None

    async def intend(self, intent: SendIntent, now: datetime) -> bool:
        """See `SentLedger.intend`; a conditional put that takes absent, expired or stale-leased keys."""
        data = _intent_data(intent)
        claim = await self._store.claim(intent.key, now, lease_s=self._lease_s, ttl_s=self._ttl_s, data=data)
        return isinstance(claim, Claimed)

    async def intend_new(self, intent: SendIntent, now: datetime) -> bool:
        """See `SentLedger.intend_new`; a conditional put that takes absent or expired keys only."""
        data = _intent_data(intent)
        return await self._store.claim_new(
            intent.key, now, lease_s=self._lease_s, ttl_s=self._ttl_s, data=data
        )

    async def receipt(self, receipt: SendReceipt, now: datetime) -> None:
        """See `SentLedger.receipt`: written (in a batch shared with concurrent sends) when this returns."""
        await self._receipts.submit((receipt, now))

    async def _write_receipts(self, batch: Sequence[tuple[SendReceipt, datetime]]) -> list[Exception | None]:
        now = max(at for _, at in batch)
        latest = {r.key: r.message_id for r, _ in batch}  # a batch write refuses a key twice
        entries = [(key, {"message_id": message_id}) for key, message_id in latest.items()]
        written = dict(
            zip(latest, await self._store.complete_each(entries, now, ttl_s=self._ttl_s), strict=True)
        )
        return [written[r.key] for r, _ in batch]

    async def forget(self, key: str) -> None:
        """See `SentLedger.forget`."""
        await self._store.release(key)

    async def interrupted(self, intent: SendIntent, now: datetime) -> None:
        """See `SentLedger.interrupted`: one conditional put (the record still holds this intent's nonce)."""
        await self._store.lapse(intent.key, now, ttl_s=self._ttl_s, data=_intent_data(intent))


def _intent_data(intent: SendIntent) -> dict[str, str]:
    return {"nonce": intent.nonce, "intended_at": intent.intended_at.isoformat()}


def _chunk_record(record: IdempotencyRecord | None) -> ChunkRecord:
    if record is None:
        return None
    if record.status is Status.COMPLETED:  # also the receipts written before intents existed
        return SendReceipt(record.key, record.data.get("message_id", ""))
    if record.lease_until is None:
        raise CorruptRecord(f"sent ledger record {record.key} is in progress without a lease")
    written = record.data.get("intended_at")
    intended_at = datetime.fromisoformat(written) if written else record.lease_until
    nonce = record.data.get("nonce") or send_nonce(record.key)
    return HeldIntent(SendIntent(record.key, nonce, intended_at), record.lease_until)
