"""Transcripts in Amazon Bedrock AgentCore Memory: short-term events, long-term records recalled by query.

Each batch is one event (`CreateEvent`) of the memory `memory_id`, with `actorId` = the agent id and
`sessionId` = the session id. Its payload is the batch's JSON as a `blob` (what `read_tail` reads back),
followed by the batch's user and assistant texts as `conversational` items, so AgentCore's extraction
strategies see the conversation and build long-term records from it. Event metadata carries `seq`,
`turn` and `digest` (a hash of the batch).

AgentCore Memory has no conditional writes. The append's `clientToken` is derived from (memory, actor,
session, seq): AgentCore answers a repeated token with the event it first created, so a second writer
for the same seq gets the first writer's event back, sees a different `digest` and raises
`VersionConflict`, as the other backends do. (The dispatcher already runs one turn per session at a
time; this catches the rest within AgentCore's idempotency window.)

Reads list the session's events (`ListEvents`, 100 a page): short-term memory is meant for one
conversation, not years of it. `recall` asks `RetrieveMemoryRecords` for the long-term records of a
namespace that match the user's message.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from clawbus.bus.aws import map_aws_errors
from clawbus.bus.errors import PermanentError, VersionConflict
from clawbus.storage.transcripts import Batch, SessionRef, Tail, tail_of

if TYPE_CHECKING:
    from types_aiobotocore_bedrock_agentcore import BedrockAgentCoreClient

_ROLES = {"user": "USER", "assistant": "ASSISTANT"}
_MAX_TEXT = 100_000  # one conversational item's limit


def _digest(batch: Batch) -> str:
    return hashlib.sha256(batch.to_json().encode("utf-8")).hexdigest()[:32]


def _conversation(batch: Batch) -> list[dict[str, Any]]:
    """The batch's user/assistant texts as conversational payload items."""
    items: list[dict[str, Any]] = []
    for entry in batch.entries:
        message = entry.get("message") if entry.get("type") == "message" else None
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            continue
        text = "".join(
            str(c.get("text", ""))
            for c in message.get("content", [])
            if isinstance(c, dict) and c.get("type") == "text"
        )
        if text.strip():
            items.append(
                {"conversational": {"content": {"text": text[:_MAX_TEXT]}, "role": _ROLES[message["role"]]}}
            )
    return items


class AgentCoreMemoryTranscriptStore:
    """The `TranscriptStore` on AgentCore Memory's data plane (a `bedrock-agentcore` client)."""

    def __init__(
        self, client: BedrockAgentCoreClient, memory_id: str, *, namespace: str | None = None, top_k: int = 5
    ) -> None:
        self._client = client
        self._memory_id = memory_id
        self._namespace = namespace
        self._top_k = top_k

    async def _events(self, session: SessionRef) -> list[Batch]:
        """Every batch of the session, by seq (a repeated seq keeps the first event)."""
        found: dict[int, Batch] = {}
        token: str | None = None
        while True:
            request: dict[str, Any] = {
                "memoryId": self._memory_id,
                "actorId": session.agent_id,
                "sessionId": session.session_id,
                "includePayloads": True,
                "maxResults": 100,
            }
            if token:
                request["nextToken"] = token
            with map_aws_errors(f"ListEvents {self._memory_id} {session.session_id}"):
                response = await self._client.list_events(**request)
            for event in response.get("events", []):
                batch = self._batch(event)
                found.setdefault(batch.seq, batch)
            token = response.get("nextToken")
            if not token:
                break
        return [found[seq] for seq in sorted(found)]

    def _batch(self, event: Any) -> Batch:
        where = f"AgentCore Memory {self._memory_id} event {event.get('eventId')}"
        for item in event.get("payload", []):
            if "blob" in item:
                blob = item["blob"]
                return Batch.from_json(blob if isinstance(blob, str) else json.dumps(blob), where)
        raise PermanentError(f"{where} has no clawbus batch (blob payload); was it written by clawbus?")

    async def read_tail(self, session: SessionRef) -> Tail:
        """The tail, from every event of the session."""
        batches = await self._events(session)
        return Tail(tail_of(list(reversed(batches))), batches[-1].seq + 1 if batches else 0)

    async def page(self, session: SessionRef, *, before: int | None = None, limit: int = 50) -> list[Batch]:
        """Older batches, newest first."""
        batches = [b for b in await self._events(session) if before is None or b.seq < before]
        return list(reversed(batches))[:limit]

    async def append(self, session: SessionRef, batch: Batch) -> None:
        """One `CreateEvent` with a seq-derived client token; `VersionConflict` if the seq was taken."""
        digest = _digest(batch)
        token = hashlib.sha256(
            f"{self._memory_id}/{session.agent_id}/{session.session_id}/{batch.seq}".encode()
        ).hexdigest()
        metadata = {"seq": {"stringValue": str(batch.seq)}, "digest": {"stringValue": digest}}
        if batch.turn_id:
            metadata["turn"] = {"stringValue": batch.turn_id[:256]}
        with map_aws_errors(f"CreateEvent {self._memory_id} {session.session_id}"):
            response = await self._client.create_event(
                memoryId=self._memory_id,
                actorId=session.agent_id,
                sessionId=session.session_id,
                eventTimestamp=datetime.now(UTC),
                payload=[{"blob": json.loads(batch.to_json())}, *_conversation(batch)],  # type: ignore[list-item]
                clientToken=token,
                metadata=metadata,  # type: ignore[arg-type]  # the stubs' TypedDict is narrower than the model
            )
        stored = response["event"].get("metadata", {}).get("digest", {}).get("stringValue")
        if stored != digest:
            raise VersionConflict(
                f"transcript {session.agent_id}/{session.session_id}: seq {batch.seq} was appended by "
                "another writer; re-read the tail and retry"
            )

    async def find_turn(self, session: SessionRef, turn_id: str) -> Batch | None:
        """The turn's batch, if one of the session's events carries it."""
        return next((b for b in await self._events(session) if b.turn_id == turn_id), None)

    async def recall(self, session: SessionRef, query: str) -> list[str]:
        """Long-term records matching `query` in the configured namespace (`{actorId}`, `{sessionId}`
        substituted); none when no namespace is configured or the query is empty."""
        if not self._namespace or not query.strip():
            return []
        namespace = self._namespace.replace("{actorId}", session.agent_id).replace(
            "{sessionId}", session.session_id
        )
        with map_aws_errors(f"RetrieveMemoryRecords {self._memory_id}"):
            response = await self._client.retrieve_memory_records(
                memoryId=self._memory_id,
                namespace=namespace,
                searchCriteria={"searchQuery": query[:10_000], "topK": self._top_k},
                maxResults=self._top_k,
            )
        return [
            str(r["content"].get("text", ""))
            for r in response.get("memoryRecordSummaries", [])
            if r.get("content")
        ]
