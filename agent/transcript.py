"""The session transcript as the turn sees it: the store's tail, plus what this turn appends.

Entries are OpenClaw's (pi's) transcript lines, kept in a `TranscriptStore` (storage/transcripts.py):

- the header `{"type": "session", "version": 1, "id", "timestamp", "cwd"}` opens a session's first batch;
- then entries `{"type", "id", "parentId", "timestamp", …}`: `message` entries hold
  `{"role": "user"|"assistant"|"toolResult", "content": [{"type": "text"|"toolCall", …}]}`, and
  `compaction` entries hold `{"summary", "firstKeptEntryId", "tokensBefore"}`.

Nothing is rewritten: a compaction is appended, and the context the model sees is the last compaction's
summary plus the messages from its `firstKeptEntryId` on. A turn's entries go in with one conditional
append (`save`), tagged with the turn's id and its reply, so a re-run of the turn finds them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from clawbus.agent.models.base import Block, Media, Message, Text, ToolCall, ToolResult
from clawbus.bus.errors import VersionConflict
from clawbus.storage import Batch, SessionRef, Tail, TranscriptStore


def _new_id() -> str:
    return uuid.uuid4().hex[:8]


def _content(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for block in blocks:
        if isinstance(block, Text):
            out.append({"type": "text", "text": block.text})
        elif isinstance(block, ToolCall):
            out.append({"type": "toolCall", "id": block.id, "name": block.name, "arguments": block.input})
        elif isinstance(block, Media):  # the reference and text only: the bytes stay in the bucket
            fields = {
                "mediaType": block.media_type,
                "size": block.size,
                "name": block.name,
                "kind": block.kind,
            }
            extra = {
                "key": block.key,
                "text": block.text,
                "refused": block.refused,
                "notTranscribed": block.not_transcribed,
            }
            out.append({"type": "media", **fields, **{k: v for k, v in extra.items() if v}})
    return out


def encode(message: Message) -> list[dict[str, Any]]:
    """A message as transcript `message` payloads (tool results become one `toolResult` each)."""
    results = [b for b in message.blocks if isinstance(b, ToolResult)]
    if results:
        return [
            {
                "role": "toolResult",
                "toolCallId": r.tool_use_id,
                "content": [{"type": "text", "text": r.text}],
                "isError": r.is_error,
            }
            for r in results
        ]
    return [{"role": message.role, "content": _content(message.blocks)}]


def _decode_media(item: dict[str, Any]) -> Media:
    def text(name: str) -> str | None:
        value = item.get(name)
        return str(value) if value else None

    return Media(
        media_type=str(item.get("mediaType", "application/octet-stream")),
        size=int(item.get("size") or 0),
        name=text("name"),
        kind=str(item.get("kind") or "document"),
        key=str(item.get("key") or ""),
        text=text("text"),
        refused=text("refused"),
        not_transcribed=text("notTranscribed"),
    )


def _decode(payload: dict[str, Any]) -> Message:
    blocks: list[Block] = []
    for item in payload.get("content", []):
        if item.get("type") == "text":
            blocks.append(Text(str(item.get("text", ""))))
        elif item.get("type") == "toolCall":
            blocks.append(ToolCall(str(item["id"]), str(item["name"]), dict(item.get("arguments") or {})))
        elif item.get("type") == "media":
            blocks.append(_decode_media(item))
    if payload.get("role") == "assistant":
        return Message("assistant", tuple(blocks))
    return Message("user", tuple(blocks))


@dataclass
class Transcript:
    """A session's tail as read, plus what this turn appends (`pending`)."""

    session: SessionRef
    tail: Tail = field(default_factory=Tail)
    pending: list[dict[str, Any]] = field(default_factory=list)

    def _entries(self) -> list[dict[str, Any]]:
        return [e for e in (*self.tail.entries, *self.pending) if e.get("type") != "session"]

    def context(self) -> tuple[str | None, list[tuple[str, Message]]]:
        """The last compaction summary (or None) and the (entry id, message) pairs after it."""
        entries = self._entries()
        summary, first_kept = None, None
        for entry in entries:
            if entry.get("type") == "compaction":
                summary, first_kept = str(entry["summary"]), entry.get("firstKeptEntryId")
        messages: list[tuple[str, Message]] = []
        keeping = first_kept is None
        for entry in entries:
            if entry.get("type") != "message":
                continue
            keeping = keeping or entry["id"] == first_kept
            if not keeping:
                continue
            message = _decode(entry["message"])
            if entry["message"].get("role") == "toolResult":
                result = ToolResult(
                    str(entry["message"].get("toolCallId", "")),
                    "".join(c.get("text", "") for c in entry["message"].get("content", [])),
                    bool(entry["message"].get("isError", False)),
                )
                if messages and all(isinstance(b, ToolResult) for b in messages[-1][1].blocks):
                    last_id, last = messages[-1]
                    messages[-1] = (last_id, Message("user", (*last.blocks, result)))
                    continue
                message = Message("user", (result,))
            messages.append((entry["id"], message))
        return summary, messages

    def _append(self, entry: dict[str, Any], now: datetime) -> str:
        previous = self._entries()
        entry_id = _new_id()
        parent = previous[-1]["id"] if previous else None
        self.pending.append({**entry, "id": entry_id, "parentId": parent, "timestamp": now.isoformat()})
        return entry_id

    def add(self, message: Message, now: datetime) -> str:
        """Append a message; the id of its (first) entry."""
        ids = [self._append({"type": "message", "message": payload}, now) for payload in encode(message)]
        return ids[0]

    def add_compaction(self, summary: str, first_kept: str, tokens_before: int, now: datetime) -> None:
        """Append a compaction entry: `summary` replaces everything before `first_kept`."""
        self._append(
            {
                "type": "compaction",
                "summary": summary,
                "firstKeptEntryId": first_kept,
                "tokensBefore": tokens_before,
            },
            now,
        )

    def batch(self, now: datetime, turn_id: str | None, reply: Mapping[str, Any] | None) -> Batch:
        """The pending entries as the next batch (with the header when the session is new)."""
        entries = list(self.pending)
        if self.tail.next_seq == 0:
            header = {
                "type": "session",
                "version": 1,
                "id": self.session.session_id,
                "timestamp": now.isoformat(),
                "cwd": "",
            }
            entries.insert(0, header)
        kept: int | None = None
        for entry in entries:
            if entry.get("type") == "compaction":
                found = self.tail.seq_of(str(entry.get("firstKeptEntryId")))
                kept = self.tail.next_seq if found is None else found
        return Batch(self.tail.next_seq, tuple(entries), turn_id=turn_id, reply=reply, kept_from=kept)

    def rebase(self, tail: Tail) -> None:
        """Move the pending entries onto a newer tail (another writer appended first)."""
        self.tail = tail
        if self.pending:
            previous = [e for e in tail.entries if e.get("type") != "session"]
            first = dict(self.pending[0])
            first["parentId"] = previous[-1]["id"] if previous else None
            self.pending[0] = first


async def load(store: TranscriptStore, session: SessionRef) -> Transcript:
    """The session's tail (empty when new)."""
    return Transcript(session, await store.read_tail(session))


async def save(
    store: TranscriptStore,
    transcript: Transcript,
    now: datetime,
    *,
    turn_id: str | None = None,
    reply: Mapping[str, Any] | None = None,
) -> None:
    """Append the pending entries as one batch. Raises `VersionConflict` if someone appended first."""
    if not transcript.pending:
        return
    await store.append(transcript.session, transcript.batch(now, turn_id, reply))


__all__ = ["Transcript", "VersionConflict", "load", "save"]
