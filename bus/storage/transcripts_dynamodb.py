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
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from clawbus.bus.aws import classify_client_error, map_aws_errors
from clawbus.bus.errors import PermanentError, VersionConflict

from .transcripts import Batch, SessionRef, Tail, needs_more, tail_of

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_s3 import S3Client

INLINE_MAX_BYTES = 64 * 1024
_PAGE = 25


def _pk(session: SessionRef) -> str:
    return f"tx#{session.agent_id}#{session.session_id}"


def _sk(seq: int) -> str:
    return f"b#{seq:010d}"


class DynamoTranscriptStore:
    """The `TranscriptStore` on DynamoDB + S3."""

    def __init__(
        self,
        dynamodb: DynamoDBClient,
        s3: S3Client,
        *,
        table: str,
        bucket: str,
        inline_max_bytes: int = INLINE_MAX_BYTES,
    ) -> None:
        self._ddb = dynamodb
        self._s3 = s3
        self._table = table
        self._bucket = bucket
        self._inline_max = inline_max_bytes

    async def _decode(self, item: dict[str, Any]) -> Batch:
        where = f"{self._table} {item['pk']['S']} {item['sk']['S']}"
        if "body" in item:
            return Batch.from_json(item["body"]["S"], where)
        key = item["body_key"]["S"]
        try:
            response = await self._s3.get_object(Bucket=self._bucket, Key=key)
            async with response["Body"] as stream:
                data = await stream.read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchKey":
                raise PermanentError(
                    f"transcript body s3://{self._bucket}/{key} of {where} is missing; restore it from a "
                    "bucket version"
                ) from exc
            raise classify_client_error(exc, f"GetObject {self._bucket}/{key}") from exc
        return Batch.from_json(data, f"s3://{self._bucket}/{key}")

    async def _query(
        self, session: SessionRef, *, before: int | None, limit: int, start: dict[str, Any] | None = None
    ) -> tuple[list[Batch], dict[str, Any] | None]:
        upper = _sk(before - 1) if before is not None else "b#9999999999"
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {
                ":pk": {"S": _pk(session)},
                ":lo": {"S": _sk(0)},
                ":hi": {"S": upper},
            },
            "ScanIndexForward": False,
            "ConsistentRead": True,
            "Limit": limit,
        }
        if start:
            request["ExclusiveStartKey"] = start
        with map_aws_errors(f"Query {self._table} {_pk(session)}"):
            response = await self._ddb.query(**request)
        batches = [await self._decode(item) for item in response.get("Items", [])]
        return batches, response.get("LastEvaluatedKey")

    async def read_tail(self, session: SessionRef) -> Tail:
        """Read backwards a page at a time until the last compaction's kept batch is reached."""
        newest_first: list[Batch] = []
        start: dict[str, Any] | None = None
        while True:
            page, start = await self._query(session, before=None, limit=_PAGE, start=start)
            newest_first.extend(page)
            if start is None or (newest_first and not needs_more(newest_first)):
                break
        next_seq = newest_first[0].seq + 1 if newest_first else 0
        return Tail(tail_of(newest_first), next_seq)

    async def page(self, session: SessionRef, *, before: int | None = None, limit: int = 50) -> list[Batch]:
        """Up to `limit` batches older than `before`, newest first."""
        batches, _ = await self._query(session, before=before, limit=limit)
        return batches

    async def append(self, session: SessionRef, batch: Batch) -> None:
        """S3 body first (when large), then the conditional item, then the turn marker."""
        body = batch.to_json()
        item: dict[str, Any] = {
            "pk": {"S": _pk(session)},
            "sk": {"S": _sk(batch.seq)},
            "seq": {"N": str(batch.seq)},
            "compaction": {"BOOL": batch.has_compaction},
        }
        if batch.kept_from is not None:
            item["kept_from"] = {"N": str(batch.kept_from)}
        if batch.turn_id:
            item["turn"] = {"S": batch.turn_id}
        data = body.encode("utf-8")
        if len(data) > self._inline_max:
            digest = hashlib.sha256(data).hexdigest()[:16]
            key = f"agents/{session.agent_id}/sessions/{session.session_id}/{batch.seq}.{digest}.json"
            with map_aws_errors(f"PutObject {self._bucket}/{key}"):
                await self._s3.put_object(
                    Bucket=self._bucket, Key=key, Body=data, ContentType="application/json"
                )
            item["body_key"] = {"S": key}
        else:
            item["body"] = {"S": body}
        try:
            await self._ddb.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(sk)"
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise VersionConflict(
                    f"transcript {session.agent_id}/{session.session_id}: seq {batch.seq} was appended by "
                    "another writer; re-read the tail and retry"
                ) from exc
            raise classify_client_error(exc, f"PutItem {self._table} {_pk(session)}") from exc
        if batch.turn_id:
            with map_aws_errors(f"PutItem {self._table} turn marker"):
                await self._ddb.put_item(
                    TableName=self._table,
                    Item={
                        "pk": {"S": _pk(session)},
                        "sk": {"S": f"turn#{batch.turn_id}"},
                        "seq": {"N": str(batch.seq)},
                    },
                )

    async def find_turn(self, session: SessionRef, turn_id: str) -> Batch | None:
        """The batch the turn's marker points at, or None (see the module docstring for the crash case)."""
        with map_aws_errors(f"GetItem {self._table} turn marker"):
            found = await self._ddb.get_item(
                TableName=self._table,
                Key={"pk": {"S": _pk(session)}, "sk": {"S": f"turn#{turn_id}"}},
                ConsistentRead=True,
            )
        if "Item" not in found:
            return None
        seq = int(found["Item"]["seq"]["N"])
        with map_aws_errors(f"GetItem {self._table} batch {seq}"):
            batch = await self._ddb.get_item(
                TableName=self._table,
                Key={"pk": {"S": _pk(session)}, "sk": {"S": _sk(seq)}},
                ConsistentRead=True,
            )
        return await self._decode(batch["Item"]) if "Item" in batch else None
