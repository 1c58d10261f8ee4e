"""The workspace store: the same contract on a local directory and on S3 (the loopback API)."""

from __future__ import annotations

import pytest

from clawbus.bus.errors import PermanentError, VersionConflict
from clawbus.storage import LocalWorkspaceStore, S3WorkspaceStore, WorkspaceStore, check_path


async def test_a_written_file_reads_back_with_its_version(store: WorkspaceStore) -> None:
    version = await store.write("memory/2026-01-31.md", "bought milk ✓")
    found = await store.read("memory/2026-01-31.md")
    assert found is not None
    assert (found.text, found.version, found.truncated) == ("bought milk ✓", version, False)
    assert await store.read("MEMORY.md") is None


async def test_binary_files_are_stored_whole(store: WorkspaceStore) -> None:
    png = b"\x89PNG\r\n\x1a\n\xff\x00binary"
    assert isinstance(store, LocalWorkspaceStore | S3WorkspaceStore)
    await store.write_bytes("screenshots/shot.png", png, content_type="image/png")
    assert await store.list("screenshots/") == ["screenshots/shot.png"]
    found = await store.read("screenshots/shot.png")
    assert found is not None
    assert found.size == len(png)


async def test_list_names_files_under_a_folder(store: WorkspaceStore) -> None:
    await store.write("AGENTS.md", "a")
    await store.write("memory/2026-01-30.md", "b")
    await store.write("memory/2026-01-31.md", "c")
    assert list(await store.list("memory/")) == ["memory/2026-01-30.md", "memory/2026-01-31.md"]
    assert list(await store.list()) == ["AGENTS.md", "memory/2026-01-30.md", "memory/2026-01-31.md"]


async def test_the_listing_carries_the_version_a_read_reports(store: WorkspaceStore) -> None:
    assert isinstance(store, LocalWorkspaceStore | S3WorkspaceStore)
    first = await store.write("AGENTS.md", "a")
    second = await store.write("memory/2026-01-31.md", "b")
    assert await store.versions() == {"AGENTS.md": first, "memory/2026-01-31.md": second}
    changed = await store.write("AGENTS.md", "a, edited", if_match=first)
    found = await store.read("AGENTS.md")
    assert found is not None
    assert (await store.versions())["AGENTS.md"] == changed == found.version != first


async def test_a_write_against_a_stale_version_is_refused(store: WorkspaceStore) -> None:
    first = await store.write("MEMORY.md", "one")
    await store.write("MEMORY.md", "two", if_match=first)
    with pytest.raises(VersionConflict, match=r"MEMORY\.md"):
        await store.write("MEMORY.md", "three", if_match=first)
    found = await store.read("MEMORY.md")
    assert found is not None
    assert found.text == "two"


async def test_create_only_refuses_an_existing_file(store: WorkspaceStore) -> None:
    await store.write("sessions/s.jsonl", "x", if_none_match=True)
    with pytest.raises(VersionConflict):
        await store.write("sessions/s.jsonl", "y", if_none_match=True)


async def test_reads_are_capped(store: WorkspaceStore) -> None:
    await store.write("big.md", "x" * 5000)
    found = await store.read("big.md", max_bytes=100)
    assert found is not None
    assert (len(found.text), found.size, found.truncated) == (100, 5000, True)


@pytest.mark.parametrize("bad", ["/etc/passwd", "../other/SOUL.md", "memory/../../x", "", "a\\b"])
def test_paths_cannot_leave_the_workspace(bad: str) -> None:
    with pytest.raises(PermanentError, match="workspace path"):
        check_path(bad)


def test_paths_are_normalised() -> None:
    assert check_path("./memory/./2026-01-31.md") == "memory/2026-01-31.md"
