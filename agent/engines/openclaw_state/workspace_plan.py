"""Plan how the OpenClaw state dir's `workspace/` and the shared `WorkspaceStore` meet around a turn (pure).

Every session of an agent runs in its own microVM with its own `workspace/`, but the workspace is one,
shared by all of them, in the store. So before a turn the local folder is made a copy of the store
(`plan_pull`), and what was pulled is remembered as the *base* (text and store version per file). After
the turn, the local folder is compared with that base (`plan_push`): a file the turn changed or created is
written on condition that the store still holds the base version (or, for a new file, that it still does
not exist); a file the turn deleted is deleted if the store still holds the base version. When another
session wrote in between, the condition fails and `merge_text` joins the two edits three-way against the
base; overlapping edits keep both sides between conflict markers, so nothing either session wrote is
lost. A deletion that races an edit keeps the edit (an edit carries more than a deletion).

No I/O here: `workspace_sync.py` carries the plans out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import merge3


@dataclass(frozen=True)
class BaseFile:
    """A file as the turn started with it: its text and the store's version of that text."""

    text: str
    version: str


@dataclass(frozen=True)
class PushStep:
    """One store change after a turn: write `text` at `path` (conditionally) or delete `path`."""

    kind: Literal["write", "delete"]
    path: str
    text: str = ""
    base: BaseFile | None = None  # None: the file is new (write only if it still does not exist)


@dataclass(frozen=True)
class PullPlan:
    """What to do to the local folder so it equals the store: files to write and files to remove; `kept`
    are local edits not pushed yet (another turn of this process is running), left alone."""

    write: Mapping[str, str]
    remove: tuple[str, ...]
    kept: tuple[str, ...] = ()


def plan_pull(
    store: Mapping[str, str], local: Mapping[str, str], synced: Mapping[str, str] | None = None
) -> PullPlan:
    """Bring `local` (path → text) up to `store` (path → text): write what differs, and remove what was
    `synced` before (path → the text the last pull or push left) but the store no longer has — another
    session deleted it. A local file never synced stays: OpenClaw made it (its starter AGENTS.md, SOUL.md …
    at start; removing them makes the gateway refuse the turn as a vanished workspace), and the next push
    stores it. A synced file whose local text is no longer the synced text is an edit of a turn still
    running in this process (turns of different sessions share the folder): it is kept, neither
    overwritten nor removed, and that turn's push stores it (merged if the store changed meanwhile)."""
    synced = synced or {}
    kept = tuple(sorted(p for p, text in local.items() if p in synced and synced[p] != text))
    write = {path: text for path, text in store.items() if local.get(path) != text and path not in kept}
    remove = tuple(
        sorted(path for path in local if path not in store and path in synced and path not in kept)
    )
    return PullPlan(write, remove, kept)


def plan_push(base: Mapping[str, BaseFile], local: Mapping[str, str]) -> list[PushStep]:
    """The store changes that carry the turn's edits: `local` (after the turn) compared with `base`."""
    steps: list[PushStep] = []
    for path in sorted(local):
        before = base.get(path)
        if before is None or before.text != local[path]:
            steps.append(PushStep("write", path, local[path], before))
    steps.extend(PushStep("delete", path, base=base[path]) for path in sorted(base) if path not in local)
    return steps


def merge_text(base: str, ours: str, theirs: str) -> tuple[str, bool]:
    """Three-way merge of this turn's text (`ours`) and another session's (`theirs`) against `base`.

    Returns the merged text and whether it is clean. Overlapping edits keep both versions between
    `<<<<<<< this session` / `>>>>>>> another session` markers: the agent (or the user) can resolve
    them later, and neither edit is dropped.
    """
    if ours == theirs or theirs == base:
        return ours, True
    if ours == base:
        return theirs, True
    merge = merge3.Merge3(
        base.splitlines(keepends=True), ours.splitlines(keepends=True), theirs.splitlines(keepends=True)
    )
    clean = not any(region[0] == "conflict" for region in merge.merge_regions())
    lines = merge.merge_lines(name_a="this session", name_b="another session")
    return "".join(lines), clean


def resolve_write_conflict(step: PushStep, current: BaseFile | None) -> PushStep | None:
    """The write to retry after `step` lost its condition, now that the store holds `current`.

    The store's file was deleted meanwhile: recreate it with this turn's text (an edit outlives a
    deletion). Otherwise merge against the base (an empty base for a file both sides created).
    None when the store already holds this turn's text.
    """
    if current is None:
        return PushStep("write", step.path, step.text, None)
    base_text = step.base.text if step.base is not None else ""
    merged, _clean = merge_text(base_text, step.text, current.text)
    if merged == current.text:
        return None
    return PushStep("write", step.path, merged, current)


def resolve_delete_conflict(current: BaseFile | None, base: BaseFile) -> bool:
    """Whether a deletion still applies: only when the store still holds exactly the base text."""
    return current is not None and current.text == base.text
