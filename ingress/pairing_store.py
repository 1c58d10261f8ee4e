"""The pairing store: pending pairing requests and paired senders, per channel account, in DynamoDB.

Table `<prefix>-pairing` (hash key `pk`) holds two items per channel account, like OpenClaw's two files:
`pending#<channel>#<account>` (the pending requests as JSON, with a `version` for optimistic
concurrency) and `allow#<channel>#<account>` (a string set of paired sender ids); one more item,
`accounts`, lists the `<channel>#<account>` names that have either (what `clawbus state export` walks).
The rules (code alphabet, one-hour TTL, three pending at most, same code on repeat) are the pure
`core.pairing`; this module only reads, applies them and writes back with `put_if_version` (a
`RecordStore`), retrying when another writer won.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from clawbus.bus.clock import utc_now
from clawbus.bus.errors import Unavailable, VersionConflict
from clawbus.ingress.core.gate import normalise_entry
from clawbus.ingress.core.pairing import (
    MAX_PENDING,
    PairingRequest,
    RequestResult,
    approve_code,
    prune,
    request_pairing,
)
from clawbus.storage.backends import record_store
from clawbus.storage.records import Record, RecordStore

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

_ATTEMPTS = 8
_ACCOUNTS = "accounts"  # one item: the string set of `<channel>#<account>` names seen


class PairingStore(Protocol):
    """What ingress and the CLI need from the pairing store."""

    async def paired(self, channel: str, account: str) -> frozenset[str]: ...

    async def request(self, channel: str, account: str, sender_id: str, now: datetime) -> RequestResult: ...


class DynamoPairingStore:
    """`PairingStore` on the pairing table's `RecordStore`; also lists and approves for `clawbus pairing`."""

    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._records: RecordStore = record_store(dynamodb, table)

    async def paired(self, channel: str, account: str) -> frozenset[str]:
        """Sender ids approved through pairing (normalised as the gate compares them)."""
        record = await self._records.get({"pk": f"allow#{channel}#{account}"}, now=utc_now())
        return record.string_set("senders", frozenset()) if record is not None else frozenset()

    async def pending(self, channel: str, account: str, now: datetime) -> tuple[PairingRequest, ...]:
        """The live pending requests, oldest first."""
        requests, _ = await self._pending(channel, account)
        return prune(requests, now)

    async def request(self, channel: str, account: str, sender_id: str, now: datetime) -> RequestResult:
        """Record a pairing request from `sender_id` (same code when already pending)."""
        for _ in range(_ATTEMPTS):
            requests, version = await self._pending(channel, account)
            result = request_pairing(requests, sender_id, now, secrets.randbelow)
            if await self._put_pending(channel, account, result.pending, version):
                if version == 0:  # the account's first request: list it for `clawbus state export`
                    await self._remember(channel, account)
                return result
        raise Unavailable(f"pairing store for {channel} is contended; retry")

    async def approve(self, channel: str, account: str, code: str, now: datetime) -> PairingRequest | None:
        """Approve `code`: the sender joins the paired allowlist. None when no live request has it."""
        for _ in range(_ATTEMPTS):
            requests, version = await self._pending(channel, account)
            rest, found = approve_code(requests, code, now)
            if found is None:
                return None
            if await self._put_pending(channel, account, rest, version):
                await self._records.update(
                    {"pk": f"allow#{channel}#{account}"},
                    add={"senders": frozenset({normalise_entry(channel, found.sender_id)})},
                )
                return found
        raise Unavailable(f"pairing store for {channel} is contended; retry")

    async def accounts(self) -> list[tuple[str, str]]:
        """Every (channel, account) that has had a pairing request or a paired sender, sorted."""
        record = await self._records.get({"pk": _ACCOUNTS}, now=utc_now())
        names = record.string_set("names", frozenset()) if record is not None else frozenset()
        return sorted((name.partition("#")[0], name.partition("#")[2]) for name in names)

    async def _remember(self, channel: str, account: str) -> None:
        await self._records.update({"pk": _ACCOUNTS}, add={"names": frozenset({f"{channel}#{account}"})})

    async def add_paired(self, channel: str, account: str, senders: Sequence[str]) -> None:
        """Add senders to the paired allowlist (an import; adding one twice is a no-op)."""
        if senders:
            await self._remember(channel, account)
            await self._records.update(
                {"pk": f"allow#{channel}#{account}"},
                add={"senders": frozenset(normalise_entry(channel, s) for s in senders)},
            )

    async def add_pending(
        self, channel: str, account: str, requests: Sequence[PairingRequest], now: datetime
    ) -> int:
        """Merge requests made elsewhere (an import) into the pending ones: a sender already pending keeps
        its code; expired ones are dropped and at most three stay, as `core.pairing` rules. How many
        of `requests` are pending afterwards."""
        for _ in range(_ATTEMPTS):
            current, version = await self._pending(channel, account)
            known = {r.sender_id for r in current}
            codes = {r.code for r in current}
            fresh = [r for r in requests if r.sender_id not in known and r.code not in codes]
            alive = prune((*current, *fresh), now)
            merged = tuple(sorted(alive, key=lambda r: r.last_seen_at)[-MAX_PENDING:])
            if await self._put_pending(channel, account, merged, version):
                await self._remember(channel, account)
                return sum(1 for r in merged if r.sender_id not in known)
        raise Unavailable(f"pairing store for {channel} is contended; retry")

    async def _pending(self, channel: str, account: str) -> tuple[tuple[PairingRequest, ...], int]:
        record = await self._records.get({"pk": f"pending#{channel}#{account}"}, now=utc_now())
        if record is None:
            return (), 0
        return _requests(record), record.whole("version", 0)

    async def _put_pending(
        self, channel: str, account: str, requests: tuple[PairingRequest, ...], version: int
    ) -> bool:
        body = json.dumps(
            [
                {
                    "sender_id": r.sender_id,
                    "code": r.code,
                    "created_at": r.created_at.isoformat(),
                    "last_seen_at": r.last_seen_at.isoformat(),
                }
                for r in requests
            ]
        )
        try:
            await self._records.put_if_version(
                {"pk": f"pending#{channel}#{account}", "requests": body}, version
            )
        except VersionConflict:
            return False
        return True


def _requests(record: Record) -> tuple[PairingRequest, ...]:
    raw = record.json("requests") if "requests" in record.fields else []
    try:
        return tuple(
            PairingRequest(
                sender_id=r["sender_id"],
                code=r["code"],
                created_at=datetime.fromisoformat(r["created_at"]),
                last_seen_at=datetime.fromisoformat(r["last_seen_at"]),
            )
            for r in raw
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise record.corrupt(f"attribute 'requests' holds a malformed pairing request ({exc})") from exc
