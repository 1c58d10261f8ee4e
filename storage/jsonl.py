"""OpenClaw's `<sessionId>.jsonl` transcripts into a `TranscriptStore` and back.

A transcript file is a header line `{"type": "session", "id": <sessionId>, "version", "timestamp",
"cwd"}` followed by one entry per line (`message`, `compaction`, `custom`, …; a tree through
`parentId`). Import stores the lines unchanged, header first, in batches of at most `MAX_BATCH_ENTRIES`
entries (or about `MAX_BATCH_BYTES`), recording each compaction's kept batch so the tail reads stay
short. Export writes the same lines back in order, so a round trip gives the file it started from
(modulo JSON whitespace).

`clawbus state import/export` calls these; they are plain library functions on purpose.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from clawbus.bus.errors import PermanentError, VersionConflict
from clawbus.storage.transcripts import Batch, Entry, SessionRef, TranscriptStore

MAX_BATCH_ENTRIES = 100
MAX_BATCH_BYTES = 48 * 1024


@dataclass(frozen=True)
class ImportSummary:
    """What an import stored: the session, how many lines (header included) and batches."""

    session: SessionRef
    lines: int
    batches: int


def parse_jsonl(lines: Iterable[str], where: str = "transcript") -> list[Entry]:
    """The file's JSON objects in order, header first. `PermanentError` names a bad line."""
    entries: list[Entry] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise PermanentError(f"{where} line {number} is not JSON ({exc})") from exc
        if not isinstance(value, dict) or not isinstance(value.get("type"), str):
            raise PermanentError(f"{where} line {number} is not a transcript entry (no 'type')")
        entries.append(value)
    if not entries or entries[0]["type"] != "session" or not isinstance(entries[0].get("id"), str):
        raise PermanentError(f"{where} must start with a header line {{'type': 'session', 'id': …}}")
    return entries


def plan_batches(entries: list[Entry], start_seq: int = 0) -> list[Batch]:
    """Entries cut into batches from `start_seq`, each compaction's `kept_from` resolved."""
    batches: list[Batch] = []
    seq_of: dict[str, int] = {}
    current: list[Entry] = []
    size = 0

    def close() -> None:
        nonlocal current, size
        if not current:
            return
        seq = start_seq + len(batches)
        kept: int | None = None
        for entry in current:
            seq_of[str(entry.get("id"))] = seq
            if entry.get("type") == "compaction":
                kept = seq_of.get(str(entry.get("firstKeptEntryId")), seq)
        batches.append(Batch(seq, tuple(current), kept_from=kept))
        current, size = [], 0

    for entry in entries:
        length = len(json.dumps(entry, ensure_ascii=False))
        if current and (len(current) >= MAX_BATCH_ENTRIES or size + length > MAX_BATCH_BYTES):
            close()
        current.append(entry)
        size += length
    close()
    return batches


async def import_jsonl(store: TranscriptStore, agent_id: str, lines: Iterable[str]) -> ImportSummary:
    """Store an OpenClaw transcript under `agent_id` and its header's session id.

    Safe to re-run: batches already stored with the same entries are skipped. Raises `PermanentError`
    for a malformed file, or when the session already holds a different transcript.
    """
    entries = parse_jsonl(lines)
    session = SessionRef(agent_id, str(entries[0]["id"]))
    batches = plan_batches(entries)
    for batch in batches:
        try:
            await store.append(session, batch)
        except VersionConflict:
            existing = await store.page(session, before=batch.seq + 1, limit=1)
            if not existing or existing[0].seq != batch.seq or existing[0].entries != batch.entries:
                raise PermanentError(
                    f"session {agent_id}/{session.session_id} already holds a different transcript; "
                    "export it first or import under another agent"
                ) from None
    return ImportSummary(session, len(entries), len(batches))


async def iter_entries(
    store: TranscriptStore, session: SessionRef, page_size: int = 100
) -> AsyncIterator[Entry]:
    """Every entry of the session, oldest first (pages read newest first, then reversed)."""
    pages: list[Batch] = []
    before: int | None = None
    while True:
        page = await store.page(session, before=before, limit=page_size)
        if not page:
            break
        pages.extend(page)
        before = page[-1].seq
        if before == 0:
            break
    for batch in reversed(pages):
        for entry in batch.entries:
            yield entry


async def export_jsonl(store: TranscriptStore, session: SessionRef) -> list[str]:
    """The session's transcript as OpenClaw JSONL lines (each ending in a newline), header first."""
    return [json.dumps(entry, ensure_ascii=False) + "\n" async for entry in iter_entries(store, session)]
