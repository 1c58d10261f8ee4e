"""The turn ledger: which inbound events have been answered, and with what (DynamoDB, conditional writes).

One completed idempotency record (`storage/idempotency.py`) per consumed event, `turn:<event_id>`,
written once when its turn is done and before its reply
is published. It holds the exact messages published for the turn, so a redelivered message (a crash
after the write, after the publish, or before the delete; a replayed dead letter) republishes the stored
reply instead of running the turn again — SNS FIFO and egress drop the copy by its id. The write is
conditional (absent, or expired), so two runs of one turn racing each other publish the first one's
reply; concurrent one-event turns' records share one request of inserts (`record`). A turn that died
before its record was written left nothing behind: it is simply run again.

Before the agent is invoked, the turn's *intent* is recorded too: `intent:<event_id>` for each event,
holding the turn's reply id (one transaction, first intent stands). A turn is run only once its intent
is there, so when a dispatcher dies after the invoke and before the ledger write, the redelivered
messages are planned into the same turn again (`core.plan_turns`' `recorded`) with the same reply id,
which the agent recognises as a re-run (its transcript, its step journal) instead of answering the
same text twice under a new id (issue 22). Intents live as long as turns.

Items expire after `ttl_days` (DynamoDB TTL); moto never expires items, so expiry is also checked on read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, ValidationError

from clawbus.bus.batching import Batcher
from clawbus.bus.errors import Unavailable
from clawbus.storage.backends import idempotency_store, shared_reads
from clawbus.storage.idempotency import AlreadyDone, IdempotencyRecord
from clawbus.storage.records import Record

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

    from clawbus.storage.reads_dynamodb import SharedReads


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

    def to_data(self) -> dict[str, str]:
        """The idempotency record's data."""
        payload = json.dumps([p.model_dump() for p in self.publications])
        return {"reply_id": self.reply_id, "publications": payload}

    @classmethod
    def from_record(cls, record: IdempotencyRecord, table: str) -> StoredTurn:
        """The turn a record holds; `CorruptRecord` when it is not one."""
        fields = Record(table, {"pk": record.key}, dict(record.data))
        publications = fields.json("publications")
        try:
            return cls(fields.text("reply_id"), tuple(Publication.model_validate(p) for p in publications))
        except (ValidationError, TypeError) as exc:
            raise fields.corrupt(f"attribute 'publications' is not a list of publications ({exc})") from exc


def _key(event_id: str) -> str:
    return f"turn:{event_id}"


def _intent_key(event_id: str) -> str:
    return f"intent:{event_id}"


@dataclass(frozen=True)
class LedgerState:
    """What the ledger holds for some events: their finished turns, and the reply id of each event's
    recorded intent (a turn started for it, finished or not)."""

    done: dict[str, StoredTurn]
    intents: dict[str, str]


class TurnLedger:
    """Records finished turns once; tells which events are already answered (a view on the ledger's
    idempotency records, `storage/idempotency.py`)."""

    def __init__(
        self, dynamodb: DynamoDBClient, table: str, ttl_s: int, reads: SharedReads | None = None
    ) -> None:
        # concurrent turns' reads share BatchGetItem requests (100 keys: 50 one-event turns), with the
        # reads of the other stores built with the same `reads` (the session index's: `/queue`)
        self._store = idempotency_store(dynamodb, table, reads or shared_reads(dynamodb))
        self._ttl_s = ttl_s
        # one-event turns' records, written by concurrent turns, share BatchExecuteStatement requests
        self._records: Batcher[tuple[str, StoredTurn, datetime]] = Batcher(self._insert, max_size=25)

    async def lookup(self, event_ids: Sequence[str], now: datetime) -> dict[str, StoredTurn]:
        """The finished turns among `event_ids` (expired records count as absent)."""
        records = await self._store.get_many([_key(e) for e in event_ids], now)
        return {
            key.removeprefix("turn:"): StoredTurn.from_record(r, self._store.table)
            for key, r in records.items()
        }

    async def state(self, event_ids: Sequence[str], now: datetime) -> LedgerState:
        """Finished turns and recorded intents among `event_ids` (at most 50), in one `BatchGetItem`
        that concurrent turns share."""
        keys = [_key(e) for e in event_ids] + [_intent_key(e) for e in event_ids]
        records = await self._store.get_many(keys, now)
        done, intents = {}, {}
        for key, record in records.items():
            if key.startswith("turn:"):
                done[key.removeprefix("turn:")] = StoredTurn.from_record(record, self._store.table)
            else:
                fields = Record(self._store.table, {"pk": key}, dict(record.data))
                intents[key.removeprefix("intent:")] = fields.text("reply_id")
        return LedgerState(done, intents)

    async def intents(self, event_ids: Sequence[str], now: datetime) -> dict[str, str]:
        """The reply id of each event's recorded intent, among `event_ids` (at most 100)."""
        records = await self._store.get_many([_intent_key(e) for e in event_ids], now)
        return {
            key.removeprefix("intent:"): Record(self._store.table, {"pk": key}, dict(r.data)).text("reply_id")
            for key, r in records.items()
        }

    async def intend(self, event_ids: Sequence[str], reply_id: str, now: datetime) -> None:
        """Record that the turn `reply_id` of `event_ids` is about to run (before the agent is invoked).

        Safe to repeat for the same turn. Raises `Unavailable` when an event is already recorded in
        another turn (two dispatchers planned the same messages differently: the retry plans anew).
        """
        try:
            await self._store.record(
                [_intent_key(e) for e in event_ids], now, ttl_s=self._ttl_s, data={"reply_id": reply_id}
            )
        except AlreadyDone:
            recorded = await self.intents(event_ids, now)
            other = next((r for e in event_ids if (r := recorded.get(e, "")) != reply_id), None)
            if other is not None:
                raise Unavailable(
                    f"turn ledger {self._store.table}: an event of turn {reply_id} is recorded in turn "
                    f"{other or '(gone)'}; retry so the run is planned anew"
                ) from None

    async def record(self, event_ids: Sequence[str], turn: StoredTurn, now: datetime) -> StoredTurn:
        """Record `turn` for every event once; returns the turn that stands (ours, or an earlier one's).

        A one-event turn's record is an `INSERT` that concurrent turns' records share a
        `BatchExecuteStatement` with (`IdempotencyStore.record_each`: each refused on its own); a
        merged turn's items go in one transaction, so it is never half recorded. (Turns are not
        combined into shared transactions: one refused item would cancel the others' too.)
        """
        try:
            if len(event_ids) == 1:
                await self._records.submit((event_ids[0], turn, now))
            else:
                await self._store.record(
                    [_key(e) for e in event_ids], now, ttl_s=self._ttl_s, data=turn.to_data()
                )
        except AlreadyDone as exc:
            if exc.record is not None:  # another run of this turn finished first: its reply stands
                return StoredTurn.from_record(exc.record, self._store.table)
            raise Unavailable(
                f"turn ledger {self._store.table}: a record was there and is gone; retry"
            ) from None
        return turn

    async def _insert(self, batch: Sequence[tuple[str, StoredTurn, datetime]]) -> list[Exception | None]:
        entries = [(_key(event_id), turn.to_data()) for event_id, turn, _ in batch]
        return await self._store.record_each(entries, max(at for _, _, at in batch), ttl_s=self._ttl_s)
