"""The agent workspace: AGENTS.md, SOUL.md, MEMORY.md, memory/*.md … as text files by relative path.

OpenClaw keeps these in `~/.openclaw/workspace`; clawbus keeps them in the state bucket under
`agents/<agentId>/workspace/` (or, for development, in a local directory), as blobs (`blobs.py`). Every
file has a *version* (S3's ETag; a content hash locally). A write may be conditional, which is how two
writers never silently overwrite each other:

- `if_match=<version>`: replace the file only if it is still that version (S3 `If-Match`);
- `if_none_match=True`: create the file only if it does not exist (S3 `If-None-Match: *`).

A lost condition raises `VersionConflict`; the caller re-reads and tries again. Paths are relative,
`/`-separated, with no `.`/`..` segments (`check_path`), so no backend can be walked out of its root.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from clawbus.bus.errors import VersionConflict
from clawbus.storage.blobs import Blob, BlobStore, LocalBlobStore, S3BlobStore, check_key

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

# OpenClaw's hard cap on one workspace file read (MAX_WORKSPACE_BOOTSTRAP_FILE_BYTES).
DEFAULT_MAX_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class WorkspaceFile:
    """One file as read: its text (decoded as UTF-8, invalid bytes replaced), version and full size.

    `truncated` is true when only the first `max_bytes` were read.
    """

    path: str
    text: str
    version: str
    size: int
    truncated: bool = False


class WorkspaceStore(Protocol):
    """Text files by relative path, with optimistic concurrency. Safe to retry: reads and lists are
    side-effect free, and a conditional write either happened once or raised `VersionConflict`."""

    async def read(self, path: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> WorkspaceFile | None:
        """The file, or None when it does not exist."""
        ...

    async def write(
        self, path: str, text: str, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str:
        """Store `text` at `path`; returns the new version. Raises `VersionConflict` on a lost condition."""
        ...

    async def list(self, prefix: str = "") -> Sequence[str]:
        """Relative paths of the files under `prefix` (a folder like `memory/`, or ''), sorted."""
        ...


def check_path(path: str) -> str:
    """`path` normalised (no leading `./`), or `PermanentError` for absolute paths, `..`, empty segments."""
    return check_key(path, "workspace path", "'memory/2026-01-31.md'")


class _BlobWorkspace:
    """A workspace over any `BlobStore` rooted at the workspace folder."""

    def __init__(self, blobs: BlobStore) -> None:
        self._blobs = blobs

    async def read(self, path: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> WorkspaceFile | None:
        """The file, or None when it does not exist."""
        blob = await self._blobs.get(check_path(path), max_bytes=max_bytes)
        if blob is None:
            return None
        text = blob.data.decode("utf-8", errors="replace")
        return WorkspaceFile(blob.key, text, blob.version, blob.size, blob.truncated)

    async def write(
        self, path: str, text: str, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str:
        """Store `text` (conditionally); raises `VersionConflict` when the condition does not hold."""
        clean = check_path(path)
        try:
            return await self._blobs.put(
                clean,
                text.encode("utf-8"),
                content_type="text/plain; charset=utf-8",
                if_match=if_match,
                if_none_match=if_none_match,
            )
        except VersionConflict as exc:
            raise VersionConflict(f"workspace file {exc}; re-read it and write again") from exc

    async def read_raw(self, path: str, *, max_bytes: int | None = None) -> Blob | None:
        """The file's bytes (its first `max_bytes` when given, `truncated` set), or None (a file the
        agent sends out is any type; `read` decodes text)."""
        return await self._blobs.get(check_path(path), max_bytes=max_bytes)

    async def write_bytes(self, path: str, data: bytes, *, content_type: str) -> str:
        """Store binary `data` (a screenshot) with its content type, unconditionally; the new version."""
        return await self._blobs.put(check_path(path), data, content_type=content_type)

    async def list(self, prefix: str = "") -> Sequence[str]:
        """Relative paths under `prefix`, sorted."""
        return await self._blobs.list(prefix)

    async def versions(self, prefix: str = "") -> Mapping[str, str]:
        """Path → version of every file under `prefix`, without reading them (one listing on S3)."""
        return await self._blobs.versions(prefix)

    async def delete(self, path: str) -> None:
        """Remove the file (no error when it is already gone). Unconditional: callers that must not lose a
        concurrent edit re-read the version first (the OpenClaw engine's workspace sync)."""
        await self._blobs.delete(check_path(path))


class LocalWorkspaceStore(_BlobWorkspace):
    """A workspace in a local directory (development, `clawbus agent` without AWS); versions are content
    hashes."""

    def __init__(self, root: Path) -> None:
        super().__init__(LocalBlobStore(root))


class S3WorkspaceStore(_BlobWorkspace):
    """A workspace in S3 under `<bucket>/agents/<agent_id>/workspace/`, with S3 conditional writes."""

    def __init__(self, s3: S3Client, bucket: str, agent_id: str) -> None:
        super().__init__(S3BlobStore(s3, bucket, f"agents/{check_path(agent_id)}/workspace/"))
