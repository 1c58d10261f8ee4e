"""OpenClaw transcripts (<sessionId>.jsonl) import into the store and export back unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clawbus.bus.errors import PermanentError
from clawbus.storage import LocalTranscriptStore, SessionRef, export_jsonl, import_jsonl
from clawbus.storage.jsonl import MAX_BATCH_ENTRIES

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "openclaw" / "agents" / "main" / "sessions"
TRANSCRIPTS = sorted(FIXTURE.glob("*.jsonl"))


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.stem[:8])
async def test_a_transcript_round_trips_and_a_reimport_changes_nothing(path: Path, tmp_path: Path) -> None:
    store = LocalTranscriptStore(tmp_path)
    lines = path.read_text("utf-8").splitlines()
    summary = await import_jsonl(store, "main", lines)
    assert summary.session == SessionRef("main", path.stem)
    assert summary.lines == len(lines)
    await import_jsonl(store, "main", lines)  # safe to re-run
    exported = await export_jsonl(store, summary.session)
    assert [json.loads(line) for line in exported] == [json.loads(line) for line in lines]


async def test_the_tail_of_an_imported_transcript_starts_at_its_compactions_kept_entry(
    tmp_path: Path,
) -> None:
    store = LocalTranscriptStore(tmp_path)
    path = FIXTURE / "0b6f3c1e-5d2a-4c8e-9f10-1a2b3c4d5e6f.jsonl"
    head = path.read_text("utf-8").splitlines()
    padding = [
        json.dumps(
            {
                "type": "custom",
                "id": f"p{i}",
                "parentId": None,
                "timestamp": "t",
                "customType": "x",
                "data": {},
            }
        )
        for i in range(MAX_BATCH_ENTRIES * 2)
    ]
    lines = [head[0], *padding, *head[1:]]  # the kept entry lands in a later batch than the header
    summary = await import_jsonl(store, "main", lines)
    assert summary.batches == 3
    tail = await store.read_tail(summary.session)
    assert tail.batches[0].seq > 0
    assert "a5b6c7d8" in [e["id"] for e in tail.entries]


async def test_a_file_without_a_header_or_with_a_broken_line_is_refused(tmp_path: Path) -> None:
    store = LocalTranscriptStore(tmp_path)
    with pytest.raises(PermanentError, match="must start with a header line"):
        await import_jsonl(store, "main", ['{"type": "message", "id": "x"}'])
    with pytest.raises(PermanentError, match="line 2 is not JSON"):
        await import_jsonl(store, "main", ['{"type": "session", "id": "s"}', "{oops"])
