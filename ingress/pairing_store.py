"""The pairing store: pending pairing requests and paired senders, per channel account, in DynamoDB.

Table `<prefix>-pairing` (hash key `pk`) holds two items per channel account, like OpenClaw's two files:
`pending#<channel>#<account>` (the pending requests as JSON, with a `version` for optimistic
concurrency) and `allow#<channel>#<account>` (a string set of paired sender ids). The rules (code
alphabet, one-hour TTL, three pending at most, same code on repeat) are the pure `core.pairing`; this
module only reads, applies them and writes back under a condition, retrying when another writer won.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from clawbus.bus.aws import map_aws_errors
from clawbus.bus.errors import Unavailable

from .core.gate import normalise_entry
from .core.pairing import PairingRequest, RequestResult, approve_code, prune, request_pairing
from .dedup_store import condition_failed

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

_ATTEMPTS = 8


class PairingStore(Protocol):
    """What ingress and the CLI need from the pairing store."""

    async def paired(self, channel: str, account: str) -> frozenset[str]: ...

    async def request(self, channel: str, account: str, sender_id: str, now: datetime) -> RequestResult: ...


class DynamoPairingStore:
    """`PairingStore` on DynamoDB; also lists and approves for `clawbus pairing`."""

    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._db = dynamodb
        self._table = table

    async def paired(self, channel: str, account: str) -> frozenset[str]:
        """Sender ids approved through pairing (normalised as the gate compares them)."""
        item = await self._get(f"allow#{channel}#{account}")
        return frozenset(item.get("senders", {}).get("SS", []))

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
                with map_aws_errors(f"UpdateItem {self._table}"):
                    await self._db.update_item(
                        TableName=self._table,
                        Key={"pk": {"S": f"allow#{channel}#{account}"}},
                        UpdateExpression="ADD senders :s",
                        ExpressionAttributeValues={":s": {"SS": [normalise_entry(channel, found.sender_id)]}},
                    )
                return found
        raise Unavailable(f"pairing store for {channel} is contended; retry")

    async def _get(self, key: str) -> dict[str, Any]:
        with map_aws_errors(f"GetItem {self._table}"):
            response = await self._db.get_item(
                TableName=self._table, Key={"pk": {"S": key}}, ConsistentRead=True
            )
        return dict(response.get("Item", {}))

    async def _pending(self, channel: str, account: str) -> tuple[tuple[PairingRequest, ...], int]:
        item = await self._get(f"pending#{channel}#{account}")
        raw = json.loads(item.get("requests", {}).get("S", "[]"))
        requests = tuple(
            PairingRequest(
                sender_id=r["sender_id"],
                code=r["code"],
                created_at=datetime.fromisoformat(r["created_at"]),
                last_seen_at=datetime.fromisoformat(r["last_seen_at"]),
            )
            for r in raw
        )
        return requests, int(item.get("version", {}).get("N", "0"))

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
        with map_aws_errors(f"PutItem {self._table}"):
            try:
                await self._db.put_item(
                    TableName=self._table,
                    Item={
                        "pk": {"S": f"pending#{channel}#{account}"},
                        "requests": {"S": body},
                        "version": {"N": str(version + 1)},
                    },
                    ConditionExpression="attribute_not_exists(pk) OR version = :v",
                    ExpressionAttributeValues={":v": {"N": str(version)}},
                )
            except ClientError as exc:
                if condition_failed(exc):
                    return False
                raise
        return True
