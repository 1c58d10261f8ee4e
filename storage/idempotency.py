"""One idempotency layer under the three ledgers: a record per key and one state machine over it.

Modelled on Powertools' `utilities/idempotency/persistence/base.py`: the state machine lives in one base
class (`IdempotencyStore`) over six small persistence methods (`_get`, `_get_many`, `_put`, `_put_each`,
`_insert_each`, `_delete`), and the DynamoDB backend (`idempotency_dynamodb.DynamoIdempotencyStore`, on
`DynamoRecordStore` with conditional writes) only translates. The ledgers are thin typed views:
ingress's dedup claims (`ingress/dedup_store.py`), the dispatcher's turn ledger (`dispatcher/ledger.py`)
and egress's sent ledger (`egress/sent_ledger.py`).

A record is `key`, `status` (`in_progress` while a lease holds it, `completed` after), `expires_at`,
`lease_until` and string `data`. The states:

    absent | expired | in_progress past its lease  --claim-->     in_progress (lease_until)
    absent | expired                               --claim_new--> in_progress (lease_until)
    in_progress                                    --complete-->  completed (data, expires_at)
                                                   (complete_each: several keys in one batch write)
    absent | expired                               --record-->    completed (first record stands)
                                                   (record_each: one-key records in one batch of inserts)
    in_progress                                    --release-->   absent
    in_progress (held by the caller)               --lapse-->     in_progress past its lease

Stored layout (unchanged from the ledgers' own, so records written before this layer read the same):
hash key `pk`, TTL attribute `expires_at` (epoch seconds: the only place clawbus writes epoch numbers
for these records), `state` = `pending` | `done`, `lease_until` (epoch seconds) while pending, and the
data attributes at the top level. A record without `state` (the turn and sent ledgers' older records)
is completed. DynamoDB deletes expired items lazily and the loopback API never does, so expiry is also
checked on every read and every conditional write.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from clawbus.bus.errors import ClawbusError, VersionConflict
from clawbus.bus.topology import LEDGER_TTL_ATTRIBUTE

STORED_STATE = {"in_progress": "pending", "completed": "done"}  # the stored names (the dedup ledger's own)
RESERVED = frozenset({"pk", "state", "lease_until", LEDGER_TTL_ATTRIBUTE})


class Status(StrEnum):
    """Where a key is in its life."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


@dataclass(frozen=True)
class IdempotencyRecord:
    """One key's record."""

    key: str
    status: Status
    expires_at: datetime | None  # None: a record written without a TTL (never expires)
    lease_until: datetime | None = None
    data: Mapping[str, str] = field(default_factory=dict)


class AlreadyDone(ClawbusError):
    """A write found the key completed (or claimed) by someone else first; `record` is theirs if live."""

    def __init__(self, key: str, record: IdempotencyRecord | None) -> None:
        super().__init__(f"idempotency record {key} already exists")
        self.record = record


@dataclass(frozen=True)
class HeldBy:
    """Write only over an in-progress record whose data has these values (its holder's own claim)."""

    data: Mapping[str, str]


WriteIf = Literal["claimable", "absent", "always"] | HeldBy


@dataclass(frozen=True)
class Claimed:
    """The key is ours until `lease_until`: do the work, then `complete` (or `release`)."""

    record: IdempotencyRecord


@dataclass(frozen=True)
class Done:
    """The key was completed before: `record.data` holds what it produced."""

    record: IdempotencyRecord


@dataclass(frozen=True)
class Busy:
    """Someone else holds a live lease on the key."""


ClaimResult = Claimed | Done | Busy


class IdempotencyStore(ABC):
    """The state machine, over the persistence methods a backend implements."""

    async def claim(
        self,
        key: str,
        now: datetime,
        *,
        lease_s: int,
        ttl_s: int,
        data: Mapping[str, str] | None = None,
    ) -> ClaimResult:
        """Claim `key` for `lease_s` (absent, expired or stale-leased keys only); `data` is kept with
        the claim (egress's send intent: its nonce and time)."""
        record = self._claimed(key, now, lease_s, ttl_s, data or {})
        try:
            await self._put([record], now, "claimable")
        except VersionConflict:
            existing = await self.get(key, now)
            if existing is not None and existing.status is Status.COMPLETED:
                return Done(existing)
            return Busy()
        return Claimed(record)

    async def claim_new(
        self, key: str, now: datetime, *, lease_s: int, ttl_s: int, data: Mapping[str, str] | None = None
    ) -> bool:
        """Claim `key` only when it has no live record (absent or expired): True when it is ours now.

        Unlike `claim`, a stale lease is not taken and a refusal is not read back (the caller reads the
        record and decides, as it would have without trying): one conditional write for a new key."""
        try:
            await self._put([self._claimed(key, now, lease_s, ttl_s, data or {})], now, "absent")
        except VersionConflict:
            return False
        return True

    async def complete(
        self, key: str, now: datetime, *, ttl_s: int, data: Mapping[str, str] | None = None
    ) -> None:
        """Mark `key` completed with `data`, kept `ttl_s` from `now` (after a `claim`)."""
        await self._put([self._completed(key, now, ttl_s, data or {})], now, "always")

    async def complete_each(
        self, entries: Sequence[tuple[str, Mapping[str, str]]], now: datetime, *, ttl_s: int
    ) -> list[Exception | None]:
        """`complete` for several keys in one unconditional batch write (up to 25), each its own
        `(key, data)`; per entry, None when written or the error that kept it out."""
        return await self._put_each([self._completed(key, now, ttl_s, data) for key, data in entries])

    async def record(
        self, keys: Sequence[str], now: datetime, *, ttl_s: int, data: Mapping[str, str]
    ) -> None:
        """Complete every key at once, only where none is live (`AlreadyDone` names a live one)."""
        try:
            await self._put([self._completed(k, now, ttl_s, data) for k in keys], now, "absent")
        except VersionConflict:
            live = await self.get_many(keys, now)
            first = next((live[k] for k in keys if k in live), None)
            raise AlreadyDone(first.key if first else keys[0], first) from None

    async def record_each(
        self, entries: Sequence[tuple[str, Mapping[str, str]]], now: datetime, *, ttl_s: int
    ) -> list[Exception | None]:
        """`record` for up to 25 one-key records, each its own `(key, data)`, in one request of inserts
        that take only an absent key (`_insert_each`); per entry, None when written, `AlreadyDone` when a
        live record stands, or the error that kept it out. An insert refused by an existing record is
        tried again as `record`, which writes over an expired one."""
        records = [self._completed(key, now, ttl_s, data) for key, data in entries]
        first: dict[str, int] = {}  # a key asked twice is inserted once; its copy finds it there
        for i, each in enumerate(records):
            first.setdefault(each.key, i)
        inserted = dict(
            zip(first, await self._insert_each([records[i] for i in first.values()]), strict=True)
        )
        results: list[Exception | None] = [
            inserted[each.key] if first[each.key] == i else VersionConflict(each.key)
            for i, each in enumerate(records)
        ]
        for i, error in enumerate(results):
            if isinstance(error, VersionConflict):
                try:
                    await self.record([records[i].key], now, ttl_s=ttl_s, data=records[i].data)
                    results[i] = None
                except ClawbusError as exc:
                    results[i] = exc
        return results

    async def get(self, key: str, now: datetime) -> IdempotencyRecord | None:
        """The key's record, or None when absent or expired at `now`."""
        return await self._get(key, now)

    async def get_many(self, keys: Sequence[str], now: datetime) -> dict[str, IdempotencyRecord]:
        """The live records among `keys` (at most 100), by key."""
        return {r.key: r for r in await self._get_many(keys, now)}

    async def release(self, key: str) -> None:
        """Forget `key` (its work failed before completing), so a retry can claim it again."""
        await self._delete(key)

    async def lapse(self, key: str, now: datetime, *, ttl_s: int, data: Mapping[str, str]) -> bool:
        """End the caller's lease on `key` now, keeping the claim: a later `claim` takes it at once and
        knows the work may have been done (`release` forgets it instead). Only while the claim is still
        the one that wrote `data` (egress's intent: its nonce); False when it is not (taken over by
        another worker after the lease ran out, or completed)."""
        lapsed = replace(self._claimed(key, now, 0, ttl_s, data), lease_until=now - timedelta(seconds=1))
        try:
            await self._put([lapsed], now, HeldBy(data))
        except VersionConflict:
            return False
        return True

    @staticmethod
    def _claimed(
        key: str, now: datetime, lease_s: int, ttl_s: int, data: Mapping[str, str]
    ) -> IdempotencyRecord:
        return IdempotencyRecord(
            key,
            Status.IN_PROGRESS,
            expires_at=now + timedelta(seconds=ttl_s),
            lease_until=now + timedelta(seconds=lease_s),
            data=dict(data),
        )

    @staticmethod
    def _completed(key: str, now: datetime, ttl_s: int, data: Mapping[str, str]) -> IdempotencyRecord:
        return IdempotencyRecord(key, Status.COMPLETED, now + timedelta(seconds=ttl_s), data=dict(data))

    @abstractmethod
    async def _get(self, key: str, now: datetime) -> IdempotencyRecord | None: ...

    @abstractmethod
    async def _get_many(self, keys: Sequence[str], now: datetime) -> list[IdempotencyRecord]: ...

    @abstractmethod
    async def _put(self, records: Sequence[IdempotencyRecord], now: datetime, write_if: WriteIf) -> None:
        """Write every record or none; `VersionConflict` when `write_if` fails for one."""

    @abstractmethod
    async def _put_each(self, records: Sequence[IdempotencyRecord]) -> list[Exception | None]:
        """Write each record unconditionally, independently; per record, None or its error."""

    @abstractmethod
    async def _insert_each(self, records: Sequence[IdempotencyRecord]) -> list[Exception | None]:
        """Write each record only where its key has no item at all, independently; per record, None
        or its error (`VersionConflict`: an item is there, live or expired)."""

    @abstractmethod
    async def _delete(self, key: str) -> None: ...
