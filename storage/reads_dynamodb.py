"""Consistent reads of several tables' items sharing `BatchGetItem` requests (issue 21).

A process that reads items of more than one table at about the same time gives each table's
`DynamoRecordStore` one `SharedReads`: every `get`/`get_many` of those stores then joins the pending
`BatchGetItem` (`bus.batching.ReadBatcher`: a 5 ms linger, paced as a group commit, up to 100 keys of
any tables), so reads of different tables asked together cost one request. The dispatcher's planner
reads a run's recorded intents (`<prefix>-ledger`) and its session's `/queue` override
(`<prefix>-sessions`) this way, together with the concurrent turns' ledger reads.

Each read is made when it is asked (a linger later at most), never cached, and consistent
(`ConsistentRead` for every table), as the stores' own `GetItem`/`BatchGetItem` are. Keys a request
leaves unprocessed (throttling) are asked again, up to five times in all, then `Unavailable`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from clawbus.bus.aws import map_aws_errors
from clawbus.bus.batching import ReadBatcher
from clawbus.bus.errors import Unavailable

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

ATTEMPTS = 5
Raw = dict[str, Any]  # an item as DynamoDB sends it (attribute values typed: {"S": ...})


def _ref(table: str, key: Mapping[str, str]) -> str:
    """One item's name in the shared batcher: its table and its (string) key."""
    return json.dumps([table, sorted(key.items())])


class SharedReads:
    """`BatchGetItem` requests shared by the reads of every store built with it (module doc)."""

    def __init__(self, dynamodb: DynamoDBClient, *, linger_s: float = 0.005) -> None:
        self._ddb = dynamodb
        self._batcher: ReadBatcher[Raw] = ReadBatcher(self._fetch, linger_s=linger_s)

    async def get(self, table: str, keys: Sequence[Mapping[str, str]], now: datetime) -> list[Raw]:
        """The items of `table` found among `keys` (at most 100), read in some shared request."""
        refs = [_ref(table, k) for k in keys]
        found = await self._batcher.get(refs, now)
        return [found[r] for r in dict.fromkeys(refs) if r in found]

    async def _fetch(self, refs: Sequence[str], _now: datetime) -> dict[str, Raw]:
        pending: dict[str, list[Raw]] = {}
        names: dict[str, list[str]] = {}  # each table's key attributes, as the keys asked name them
        for ref in refs:
            table, pairs = json.loads(ref)
            pending.setdefault(table, []).append({k: {"S": v} for k, v in pairs})
            names.setdefault(table, [k for k, _ in pairs])
        found: dict[str, Raw] = {}
        for _ in range(ATTEMPTS):
            if not pending:
                return found
            with map_aws_errors(f"BatchGetItem {', '.join(sorted(pending))}"):
                response = await self._ddb.batch_get_item(
                    RequestItems={t: {"Keys": keys, "ConsistentRead": True} for t, keys in pending.items()}
                )
            for table, items in response.get("Responses", {}).items():
                for raw in items:
                    found[_ref(table, {n: raw[n]["S"] for n in names[table]})] = dict(raw)
            unprocessed = response.get("UnprocessedKeys", {})
            pending = {t: [dict(k) for k in u["Keys"]] for t, u in unprocessed.items() if u.get("Keys")}
        tables = ", ".join(sorted(pending))
        raise Unavailable(f"BatchGetItem {tables}: keys left unprocessed (throttled); retry")
