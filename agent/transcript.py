"""The session transcript, as OpenClaw-style JSONL in the workspace store (interim).

Until the storage layer's `TranscriptStore` lands, a session's messages live in the workspace store at
`sessions/<runtime session id>.jsonl`, one JSON object per line, in OpenClaw's (pi's) shape:

- line 1: `{"type": "session", "version": 1, "id", "timestamp", "cwd"}`;
- then entries `{"type", "id", "parentId", "timestamp", …}`: `message` entries hold
  `{"role": "user"|"assistant"|"toolResult", "content": [{"type": "text"|"toolCall", …}]}`, and
  `compaction` entries hold `{"summary", "firstKeptEntryId", "tokensBefore"}`.

Nothing is rewritten: a compaction is appended, and the context the model sees is the last compaction's
summary plus the messages from its `firstKeptEntryId` on. Each turn appends with one conditional write
(`If-Match` on the version it read, `If-None-Match` for a new session).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from clawbus.bus.errors import VersionConflict
from clawbus.bus.storage import WorkspaceStore

from .models.base import Block, Message, Text, ToolCall, ToolResult

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def transcript_path(runtime_session_id: str) -> str:
    """`sessions/<id>.jsonl`, with characters unsafe in a path replaced."""
    return f"sessions/{_UNSAFE.sub('_', runtime_session_id)[:200]}.jsonl"


def _new_id() -> str:
    return uuid.uuid4().hex[:8]


def _content(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for block in blocks:
        if isinstance(block, Text):
            out.append({"type": "text", "text": block.text})
        elif isinstance(block, ToolCall):
            out.append({"type": "toolCall", "id": block.id, "name": block.name, "arguments": block.input})
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


def _decode(payload: dict[str, Any]) -> Message:
    blocks: list[Block] = []
    for item in payload.get("content", []):
        if item.get("type") == "text":
            blocks.append(Text(str(item.get("text", ""))))
        elif item.get("type") == "toolCall":
            blocks.append(ToolCall(str(item["id"]), str(item["name"]), dict(item.get("arguments") or {})))
    if payload.get("role") == "assistant":
        return Message("assistant", tuple(blocks))
    return Message("user", tuple(blocks))


@dataclass
class Transcript:
    """A session's entries as read, plus what this turn appends; `version` is what was read."""

    path: str
    lines: list[dict[str, Any]] = field(default_factory=list)
    version: str | None = None
    pending: list[dict[str, Any]] = field(default_factory=list)

    def _entries(self) -> list[dict[str, Any]]:
        return [e for e in (*self.lines, *self.pending) if e.get("type") != "session"]

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


async def load(store: WorkspaceStore, runtime_session_id: str) -> Transcript:
    """The session's transcript (empty when new)."""
    path = transcript_path(runtime_session_id)
    found = await store.read(path, max_bytes=64 * 1024 * 1024)
    if found is None:
        return Transcript(path)
    lines = [json.loads(line) for line in found.text.splitlines() if line.strip()]
    return Transcript(path, lines, found.version)


async def save(store: WorkspaceStore, transcript: Transcript, session_id: str, now: datetime) -> None:
    """Append the pending entries with one conditional write. Raises `VersionConflict` if it moved."""
    if not transcript.pending:
        return
    lines = list(transcript.lines)
    if transcript.version is None:
        lines.insert(0, {"type": "session", "version": 1, "id": session_id, "timestamp": now.isoformat()})
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in (*lines, *transcript.pending))
    if transcript.version is None:
        await store.write(transcript.path, text, if_none_match=True)
    else:
        await store.write(transcript.path, text, if_match=transcript.version)


__all__ = ["Transcript", "VersionConflict", "load", "save", "transcript_path"]
