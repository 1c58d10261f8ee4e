"""Carry out the workspace plans (`workspace_plan.py`) between the store and `<state dir>/workspace/`.

`pull` copies the store into the folder before a turn and returns the base it pulled (reading only the
files whose listed version differs from the last base); `push` writes the
turn's edits back with conditional writes on that base and, when another session got there first, re-reads
and merges (`resolve_write_conflict`) until a write holds, then puts the merged text in the folder too so
the next turn sees it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from clawbus.agent.engines.openclaw_state.workspace_plan import (
    BaseFile,
    PushStep,
    plan_pull,
    plan_push,
    resolve_delete_conflict,
    resolve_write_conflict,
)
from clawbus.bus.errors import RetryableError, VersionConflict
from clawbus.bus.logging import log_event
from clawbus.storage import WorkspaceFile

_log = logging.getLogger(__name__)

# How often one file's write may lose its condition to other sessions before the turn fails (retryable).
MAX_ATTEMPTS = 5


class SyncedWorkspace(Protocol):
    """The workspace store as the sync needs it (`LocalWorkspaceStore`, `S3WorkspaceStore`)."""

    async def read(self, path: str) -> WorkspaceFile | None: ...

    async def write(
        self, path: str, text: str, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str: ...

    async def list(self, prefix: str = "") -> Sequence[str]: ...

    async def versions(self, prefix: str = "") -> Mapping[str, str]: ...

    async def delete(self, path: str) -> None: ...


def read_folder(root: Path) -> dict[str, str]:
    """Every UTF-8 text file under `root` by `/`-separated relative path.

    Hidden folders (`.git`, OpenClaw's `.openclaw/`) and binary files are left out: the sync moves text
    (binary workspace files, like screenshots, are written to the store by the tool that makes them).
    """
    files: dict[str, str] = {}
    if not root.is_dir():
        return files
    for file in sorted(root.rglob("*")):
        rel = file.relative_to(root)
        if file.is_file() and not any(part.startswith(".") for part in rel.parts):
            try:
                files[rel.as_posix()] = file.read_text("utf-8")
            except UnicodeDecodeError:
                continue
    return files


def _write_local(root: Path, path: str, text: str) -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, "utf-8")


async def _current(store: SyncedWorkspace, path: str) -> BaseFile | None:
    found = await store.read(path)
    return None if found is None else BaseFile(found.text, found.version)


async def pull(
    store: SyncedWorkspace, root: Path, synced: Mapping[str, BaseFile] | None = None
) -> dict[str, BaseFile]:
    """Bring `root` up to the store (`plan_pull`); the base (text and version per file) the turn starts
    from. `synced` is the base the last sync left: a file whose listed version is still the one there is
    not read again (on S3 one listing, and a GET only per changed file)."""
    synced = synced or {}
    base: dict[str, BaseFile] = {}
    fetched = 0
    for path, version in sorted((await store.versions("")).items()):
        known = synced.get(path)
        if known is not None and known.version == version:
            base[path] = known
            continue
        found = await store.read(path)
        fetched += 1
        if found is not None:
            base[path] = BaseFile(found.text, found.version)
    await asyncio.to_thread(root.mkdir, parents=True, exist_ok=True)
    local = await asyncio.to_thread(read_folder, root)
    plan = plan_pull(
        {path: file.text for path, file in base.items()}, local, {p: f.text for p, f in synced.items()}
    )
    for path in plan.kept:  # a running turn's edit: its push compares with what it started from
        base[path] = synced[path]
    for path, text in plan.write.items():
        await asyncio.to_thread(_write_local, root, path, text)
    for path in plan.remove:
        await asyncio.to_thread((root / path).unlink, missing_ok=True)
    log_event(
        _log,
        "agent.workspace.pulled",
        files=len(base),
        fetched=fetched,
        written=len(plan.write),
        removed=len(plan.remove),
        kept=len(plan.kept),
    )
    return base


async def push(store: SyncedWorkspace, root: Path, base: dict[str, BaseFile]) -> dict[str, BaseFile]:
    """Write the turn's edits (the folder compared with `base`) to the store; the new base."""
    local = await asyncio.to_thread(read_folder, root)
    new_base = dict(base)
    for step in plan_push(base, local):
        if step.kind == "write":
            written = await _write(store, step)
            new_base[step.path] = written
            if written.text != local[step.path]:
                await asyncio.to_thread(_write_local, root, step.path, written.text)
        elif await _delete(store, step):
            new_base.pop(step.path, None)
        else:
            kept = await _current(store, step.path)
            if kept is not None:
                new_base[step.path] = kept
                await asyncio.to_thread(_write_local, root, step.path, kept.text)
    return new_base


async def _write(store: SyncedWorkspace, step: PushStep) -> BaseFile:
    """Write one file, merging with concurrent writers until a conditional write holds; what is stored."""
    current: PushStep | None = step
    for _attempt in range(MAX_ATTEMPTS):
        if current is None:  # the store already holds this text
            found = await _current(store, step.path)
            if found is not None:
                return found
            current = PushStep("write", step.path, step.text, None)
        try:
            if current.base is None:
                version = await store.write(current.path, current.text, if_none_match=True)
            else:
                version = await store.write(current.path, current.text, if_match=current.base.version)
            log_event(_log, "agent.workspace.written", path=step.path, merged=current is not step)
            return BaseFile(current.text, version)
        except VersionConflict:
            log_event(_log, "agent.workspace.conflict", path=step.path)
            current = resolve_write_conflict(step, await _current(store, step.path))
    raise RetryableError(
        f"workspace file {step.path} kept changing under {MAX_ATTEMPTS} writes; retry the turn"
    )


async def _delete(store: SyncedWorkspace, step: PushStep) -> bool:
    """Delete one file unless another session changed it since the base; whether it was deleted."""
    assert step.base is not None
    if not resolve_delete_conflict(await _current(store, step.path), step.base):
        log_event(_log, "agent.workspace.delete_kept", path=step.path)
        return False
    await store.delete(step.path)
    log_event(_log, "agent.workspace.deleted", path=step.path)
    return True
