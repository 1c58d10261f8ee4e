"""The files an OpenClaw turn's answer sends (issue 20): its `MEDIA:` lines, read from OpenClaw's own folder.

OpenClaw's gateway answers `/v1/chat/completions` with its reply payloads' text only: it takes a
`MEDIA:` line out of the model's answer into the payload's `mediaUrls`, which that API leaves out (as
it does the `mediaUrl(s)` its tools attach). The model's answer as written is in the session's
transcript, so the engine reads the turn's final assistant message there (`TurnMark`, `answer_refs`)
and stages its `MEDIA:` references as the native loop does (`agent/reply_media.py`: the same rules,
the same `reply_media` for egress). Tool-attached `mediaUrls` still do not come across: neither HTTP
API of OpenClaw 2026.9.6 returns them.

A local reference names a file in OpenClaw's workspace, `<state dir>/workspace/`: relative to it, under
`/workspace/`, or by the folder's absolute path (what OpenClaw's tools print). The files are read from
that folder, not from the workspace store, whose sync carries text files only (an image a tool wrote
exists only in the folder). A path that leaves the folder, through `..` or a symbolic link, names no file.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from clawbus.agent.engines.openclaw.client import agent_of
from clawbus.agent.engines.openclaw.session_keys import gateway_session_key
from clawbus.agent.engines.openclaw_state import sqlite_transcript as sql
from clawbus.agent.media_lines import split_media_lines
from clawbus.storage.blobs import Blob


class FolderBytes:
    """A `WorkspaceBytes` over a folder on disk (see module)."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def _read(self, path: str, max_bytes: int | None) -> Blob | None:
        root = self._root.resolve()
        target = (root / path).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            return None
        size = target.stat().st_size
        with target.open("rb") as file:
            data = file.read(size if max_bytes is None else min(size, max_bytes))
        return Blob(key=path, data=data, version="", size=size, truncated=len(data) < size)

    async def read_raw(self, path: str, *, max_bytes: int | None = None) -> Blob | None:
        """The file's bytes (the first `max_bytes`, `truncated` when there is more); None when there
        is no such file inside the folder."""
        return await asyncio.to_thread(self._read, path, max_bytes)


@dataclass(frozen=True)
class TurnMark:
    """Where a session's transcript stood before a turn: its database, key, session id and last seq."""

    db: Path
    key: str
    session_id: str | None
    seq: int


def _mark(state_dir: Path, session_key: str) -> TurnMark:
    db = sql.agent_db(state_dir, agent_of(session_key))
    key = gateway_session_key(session_key)
    if not db.is_file():
        return TurnMark(db, key, None, -1)
    session_id = sql.current_session_id(db, key)
    return TurnMark(db, key, session_id, -1 if session_id is None else sql.last_seq(db, session_id))


def _answer_refs(mark: TurnMark, root: Path) -> list[str]:
    if not mark.db.is_file():
        return []
    session_id = sql.current_session_id(mark.db, mark.key)
    if session_id is None:
        return []
    after = mark.seq if session_id == mark.session_id else -1
    answers = [
        event["message"]
        for _seq, event in sql.events_after(mark.db, session_id, after)
        if isinstance(event.get("message"), dict) and event["message"].get("role") == "assistant"
    ]
    if not answers:
        return []
    content = answers[-1].get("content")
    blocks = content if isinstance(content, list) else [{"type": "text", "text": content}]
    text = "\n".join(
        str(b.get("text", "")) for b in blocks if isinstance(b, dict) and b.get("type") == "text"
    )
    return [workspace_ref(ref, root) for ref in split_media_lines(text).refs]


async def turn_mark(state_dir: Path, session_key: str) -> TurnMark:
    """Where the session's transcript stands now (call before the turn)."""
    return await asyncio.to_thread(_mark, state_dir, session_key)


async def answer_refs(mark: TurnMark, root: Path) -> list[str]:
    """The `MEDIA:` references of the turn's final assistant message (after `mark`), local paths under
    the workspace folder `root` made relative to it."""
    return await asyncio.to_thread(_answer_refs, mark, root)


def workspace_ref(ref: str, root: Path) -> str:
    """`ref` relative to the workspace when it names a file under `root` by its absolute path (the staging
    rules take workspace-relative and `/workspace/` paths, never a host path); else as written."""
    prefix = str(root).rstrip("/") + "/"
    return ref[len(prefix) :] if ref.startswith(prefix) else ref
