"""The workspace sync against a real store (local directory and S3 on the loopback API): two sessions in
two state dirs share one workspace, and neither loses an edit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clawbus.agent.engines.openclaw_state.workspace_sync import pull, push
from clawbus.storage import WorkspaceFile
from tests.workspace_stores import Store


async def test_a_turns_edit_reaches_the_store_and_another_sessions_folder(
    store: Store, tmp_path: Path
) -> None:
    await store.write("SOUL.md", "calm")
    one, two = tmp_path / "one" / "workspace", tmp_path / "two" / "workspace"
    base = await pull(store, one)
    assert (one / "SOUL.md").read_text() == "calm"
    (one / "memory").mkdir()
    (one / "memory" / "today.md").write_text("bought milk")
    await push(store, one, base)
    await pull(store, two)
    assert (two / "memory" / "today.md").read_text() == "bought milk"


async def test_concurrent_edits_of_one_file_are_merged_not_lost(store: Store, tmp_path: Path) -> None:
    await store.write("MEMORY.md", "# Memory\n- likes tea\n\n- lives in Oslo\n")
    one, two = tmp_path / "one", tmp_path / "two"
    base_one, base_two = await pull(store, one), await pull(store, two)
    (one / "MEMORY.md").write_text("# Memory\n- likes green tea\n\n- lives in Oslo\n")
    (two / "MEMORY.md").write_text("# Memory\n- likes tea\n\n- lives in Bergen\n")
    await push(store, one, base_one)
    await push(store, two, base_two)
    merged = "# Memory\n- likes green tea\n\n- lives in Bergen\n"
    found = await store.read("MEMORY.md")
    assert found is not None
    assert found.text == merged
    assert (two / "MEMORY.md").read_text() == merged  # the next turn in session two sees the merge


async def test_a_deletion_applies_unless_another_session_edited_the_file(
    store: Store, tmp_path: Path
) -> None:
    await store.write("a.md", "a")
    await store.write("b.md", "b")
    one, two = tmp_path / "one", tmp_path / "two"
    base_one, base_two = await pull(store, one), await pull(store, two)
    (one / "a.md").unlink()
    (one / "b.md").unlink()
    (two / "b.md").write_text("b, edited")
    await push(store, two, base_two)
    await push(store, one, base_one)
    assert await store.read("a.md") is None
    kept = await store.read("b.md")
    assert kept is not None
    assert kept.text == "b, edited"
    assert (one / "b.md").read_text() == "b, edited"


async def test_a_binary_file_the_turn_made_is_not_pushed_as_text(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "one"
    folder.mkdir()
    base = await pull(store, folder)
    (folder / "shot.png").write_bytes(b"\x89PNG\r\n\x1a\n\xff\x00")
    await push(store, folder, base)
    assert await store.read("shot.png") is None
    assert (folder / "shot.png").read_bytes() == b"\x89PNG\r\n\x1a\n\xff\x00"


class CountingReads:
    """The store, counting the files read from it (a GET each on S3)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.reads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def read(self, path: str) -> WorkspaceFile | None:
        self.reads += 1
        return await self._store.read(path)


async def test_a_turn_with_nothing_changed_reads_no_file_and_a_changed_file_is_still_pulled(
    store: Store, tmp_path: Path
) -> None:
    for name in ("AGENTS.md", "SOUL.md", "memory/today.md"):
        await store.write(name, f"{name} v1")
    counting = CountingReads(store)
    folder = tmp_path / "vm" / "workspace"
    base = await pull(counting, folder)  # type: ignore[arg-type]
    base = await push(counting, folder, base)  # type: ignore[arg-type]
    counting.reads = 0

    base = await pull(counting, folder, base)  # type: ignore[arg-type]  # the next turn
    assert counting.reads == 0

    await store.write("SOUL.md", "changed by another session", if_match=base["SOUL.md"].version)
    await pull(counting, folder, base)  # type: ignore[arg-type]
    assert counting.reads == 1
    assert (folder / "SOUL.md").read_text() == "changed by another session"
    assert (folder / "AGENTS.md").read_text() == "AGENTS.md v1"
