"""The local storage backends hold the owner's memory, transcripts and sessions: other users read none of
it, whatever the umask (files 0600, the folders they create 0700)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from clawbus.storage import (
    Batch,
    LocalBlobStore,
    LocalSessionIndex,
    LocalTranscriptStore,
    SessionEntry,
    SessionRef,
)


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # the usual default: new files 0644, folders 0755
    yield
    os.umask(previous)


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in root.rglob("*")}


@pytest.mark.usefixtures("open_umask")
async def test_what_the_local_stores_write_is_private(tmp_path: Path) -> None:
    root = tmp_path / "state"
    await LocalBlobStore(root / "blobs").put("workspace/main/MEMORY.md", b"the owner's memory")
    await LocalSessionIndex(root / "sessions").update(
        "main", "agent:main:main", lambda _current: SessionEntry(session_id="s1")
    )
    message = {"type": "message", "id": "m1", "parentId": None, "message": {"role": "user", "content": []}}
    await LocalTranscriptStore(root / "sessions").append(SessionRef("main", "s1"), Batch(0, (message,)))

    modes = _modes(root)
    assert any(name.endswith("MEMORY.md") for name in modes), modes
    assert any(name.endswith("sessions.json") for name in modes), modes
    assert len([name for name in modes if name.endswith(".jsonl")]) == 1, modes
    wide = {name: f"{mode:04o}" for name, mode in modes.items() if mode & 0o077}
    assert not wide, wide
