"""Transcripts in DynamoDB (`<prefix>-sessions`), bodies over 64 KiB in the state bucket.

Items (hash `pk`, range `sk`, both strings):

- `pk = tx#<agentId>#<sessionId>`, `sk = b#<seq, 10 digits>`: one batch. `body` holds the batch's JSON,
  or `body_key` names the S3 object holding it (`agents/<agentId>/sessions/<sessionId>/<seq>.<hash>.json`)
  when the JSON is over `inline_max_bytes`. `compaction` (BOOL) and `kept_from` (N) let a backwards read
  stop at the tail; `turn` names the turn that appended it.
- `pk = tx#…`, `sk = turn#<turnId>`: the turn's batch seq, written after the batch. A crash between the
  two writes leaves a batch without its marker; that batch is then the newest, so callers check
  `Tail.turn` as well (the agent reads the tail and the marker at once).

An append writes the S3 body FIRST and then the item with `attribute_not_exists(sk)`: a reader never
sees an item whose body is missing, and a second writer for the same seq gets `VersionConflict`. The
body's key carries a hash of its content, so a losing writer never overwrites the winner's body.
Items go through the layer's `RecordStore` (conditions, typed errors, size checks) and bodies through its
`BlobStore`, like every other store.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from clawbus.bus.clock import utc_now
from clawbus.bus.errors import PermanentError, VersionConflict
from clawbus.storage.blobs import S3BlobStore
from clawbus.storage.records import Absent, Item, Record, RecordStore
from clawbus.storage.records_dynamodb import DynamoRecordStore
from clawbus.storage.transcripts import Batch, SessionRef, Tail, needs_more, tail_of

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_s3 import S3Client

INLINE_MAX_BYTES = 64 * 1024
_PAGE = 25
_NEWEST = "b#:"  # just above every batch key (":" sorts after the digits), below the `turn#` markers


def _pk(session: SessionRef) -> str:
    return f"tx#{session.agent_id}#{session.session_id}"


def _sk(seq: int) -> str:
    return f"b#{seq:010d}"


class DynamoTranscriptStore:
    """The `TranscriptStore` on DynamoDB + S3 (a `RecordStore` and a `BlobStore` of the layer)."""

    def __init__(
        self,
        dynamodb: DynamoDBClient,
        s3: S3Client,
        *,
        table: str,
        bucket: str,
        inline_max_bytes: int = INLINE_MAX_BYTES,
    ) -> None:
        self._records: RecordStore = DynamoRecordStore(dynamodb, table, range_key="sk")
        self._blobs = S3BlobStore(s3, bucket)
        self._bucket = bucket
        self._inline_max = inline_max_bytes

    async def _decode(self, record: Record) -> Batch:
        where = f"{self._records.table} {record.text('pk')} {record.text('sk')}"
        if "body" in record.fields:
            return Batch.from_json(record.text("body"), where)
        key = record.text("body_key")
        blob = await self._blobs.get(key)
        if blob is None:
            raise PermanentError(
                f"transcript body s3://{self._bucket}/{key} of {where} is missing; restore it from a "
                "bucket version"
            )
        return Batch.from_json(blob.data, f"s3://{self._bucket}/{key}")

    async def _page(self, session: SessionRef, *, before: int | None, limit: int) -> list[Batch]:
        upper = _sk(before) if before is not None else _NEWEST
        records = await self._records.query(
            {"pk": _pk(session)}, before=upper, newest_first=True, limit=limit, now=utc_now()
        )
        return [await self._decode(record) for record in records]

    async def read_tail(self, session: SessionRef) -> Tail:
        """Read backwards a page at a time until the last compaction's kept batch is reached."""
        newest_first: list[Batch] = []
        while True:
            before = newest_first[-1].seq if newest_first else None
            page = await self._page(session, before=before, limit=_PAGE)
            newest_first.extend(page)
            if len(page) < _PAGE or not needs_more(newest_first):
                break
        next_seq = newest_first[0].seq + 1 if newest_first else 0
        return Tail(tail_of(newest_first), next_seq)

    async def page(self, session: SessionRef, *, before: int | None = None, limit: int = 50) -> list[Batch]:
        """Up to `limit` batches older than `before`, newest first."""
        return await self._page(session, before=before, limit=limit)

    async def append(self, session: SessionRef, batch: Batch) -> None:
        """S3 body first (when large), then the conditional item, then the turn marker."""
        body = batch.to_json()
        item: Item = {
            "pk": _pk(session),
            "sk": _sk(batch.seq),
            "seq": batch.seq,
            "compaction": batch.has_compaction,
        }
        if batch.kept_from is not None:
            item["kept_from"] = batch.kept_from
        if batch.turn_id:
            item["turn"] = batch.turn_id
        data = body.encode("utf-8")
        if len(data) > self._inline_max:
            digest = hashlib.sha256(data).hexdigest()[:16]
            key = f"agents/{session.agent_id}/sessions/{session.session_id}/{batch.seq}.{digest}.json"
            await self._blobs.put(key, data, content_type="application/json")
            item["body_key"] = key
        else:
            item["body"] = body
        try:
            await self._records.put(item, condition=Absent())
        except VersionConflict as exc:
            raise VersionConflict(
                f"transcript {session.agent_id}/{session.session_id}: seq {batch.seq} was appended by "
                "another writer; re-read the tail and retry"
            ) from exc
        if batch.turn_id:
            await self._records.put({"pk": _pk(session), "sk": f"turn#{batch.turn_id}", "seq": batch.seq})

    async def find_turn(self, session: SessionRef, turn_id: str) -> Batch | None:
        """The batch the turn's marker points at, or None (see the module docstring for the crash case)."""
        marker = await self._records.get({"pk": _pk(session), "sk": f"turn#{turn_id}"}, now=utc_now())
        if marker is None:
            return None
        found = await self._records.get({"pk": _pk(session), "sk": _sk(marker.whole("seq"))}, now=utc_now())
        return await self._decode(found) if found is not None else None
