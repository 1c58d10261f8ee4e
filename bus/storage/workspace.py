"""The agent workspace: AGENTS.md, SOUL.md, MEMORY.md, memory/*.md … as text files by relative path.

OpenClaw keeps these in `~/.openclaw/workspace`; clawbus keeps them in the state bucket under
`agents/<agentId>/workspace/` (or, for development, in a local directory). Every file has a *version*
(S3's ETag; a content hash locally). A write may be conditional, which is how two writers never silently
overwrite each other:

- `if_match=<version>`: replace the file only if it is still that version (S3 `If-Match`);
- `if_none_match=True`: create the file only if it does not exist (S3 `If-None-Match: *`).

A lost condition raises `VersionConflict`; the caller re-reads and tries again. Paths are relative,
`/`-separated, with no `.`/`..` segments (`check_path`), so no backend can be walked out of its root.
"""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import ClientError

from clawbus.bus.aws import classify_client_error
from clawbus.bus.errors import PermanentError, TargetGone, VersionConflict

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

# OpenClaw's hard cap on one workspace file read (MAX_WORKSPACE_BOOTSTRAP_FILE_BYTES).
DEFAULT_MAX_BYTES = 2 * 1024 * 1024
_CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict"}


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
    if not path or path.startswith("/") or "\\" in path or "\x00" in path:
        raise PermanentError(f"workspace path {path!r} must be relative, like 'memory/2026-01-31.md'")
    parts = [p for p in PurePosixPath(path).parts if p != "."]
    if not parts or any(p == ".." for p in parts) or "//" in path:
        raise PermanentError(f"workspace path {path!r} must stay inside the workspace (no '..')")
    return "/".join(parts)


def _version(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


class LocalWorkspaceStore:
    """A workspace in a local directory (development, `clawbus agent` without AWS).

    Versions are content hashes; a per-store lock makes check-and-write atomic within the process.
    """

    def __init__(self, root: Path) -> None:
        self._root = root
        self._lock = asyncio.Lock()

    def _file(self, path: str) -> Path:
        return self._root / check_path(path)

    async def read(self, path: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> WorkspaceFile | None:
        """The file, or None when it does not exist."""
        return await asyncio.to_thread(self._read, check_path(path), max_bytes)

    def _read(self, path: str, max_bytes: int) -> WorkspaceFile | None:
        file = self._root / path
        if not file.is_file():
            return None
        data = file.read_bytes()
        return WorkspaceFile(
            path=path,
            text=_decode(data[:max_bytes]),
            version=_version(data),
            size=len(data),
            truncated=len(data) > max_bytes,
        )

    async def write(
        self, path: str, text: str, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str:
        """Store `text`; raises `VersionConflict` when the condition does not hold."""
        clean = check_path(path)
        async with self._lock:
            return await asyncio.to_thread(self._write, clean, text.encode("utf-8"), if_match, if_none_match)

    async def write_bytes(self, path: str, data: bytes, *, content_type: str) -> str:
        """Store binary `data` (a screenshot), unconditionally; returns the new version."""
        del content_type  # a local file has none
        clean = check_path(path)
        async with self._lock:
            return await asyncio.to_thread(self._write, clean, data, None, False)

    def _write(self, path: str, data: bytes, if_match: str | None, if_none_match: bool) -> str:
        file = self._root / path
        exists = file.is_file()
        if if_none_match and exists:
            raise VersionConflict(f"workspace file {path} already exists")
        if if_match is not None and (not exists or _version(file.read_bytes()) != if_match):
            raise VersionConflict(f"workspace file {path} changed since version {if_match}")
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_name(f".{file.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, file)
        return _version(data)

    async def list(self, prefix: str = "") -> Sequence[str]:
        """Relative paths under `prefix`, sorted (temporary files excluded)."""
        return await asyncio.to_thread(self._list, prefix)

    def _list(self, prefix: str) -> Sequence[str]:
        if not self._root.is_dir():
            return []
        found: builtins.list[str] = []
        for file in self._root.rglob("*"):
            rel = file.relative_to(self._root).as_posix()
            if file.is_file() and rel.startswith(prefix) and not file.name.startswith("."):
                found.append(rel)
        return sorted(found)


class S3WorkspaceStore:
    """A workspace in S3 under `<bucket>/agents/<agent_id>/workspace/`, with S3 conditional writes."""

    def __init__(self, s3: S3Client, bucket: str, agent_id: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._root = f"agents/{check_path(agent_id)}/workspace/"

    def _key(self, path: str) -> str:
        return self._root + check_path(path)

    async def read(self, path: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> WorkspaceFile | None:
        """The file, or None when it does not exist."""
        key = self._key(path)
        try:
            response = await self._s3.get_object(Bucket=self._bucket, Key=key)
            async with response["Body"] as stream:
                data = await stream.read(max_bytes + 1)
        except ClientError as exc:
            error = classify_client_error(exc, f"GetObject {self._bucket}/{key}")
            if isinstance(error, TargetGone) and exc.response.get("Error", {}).get("Code") != "NoSuchBucket":
                return None
            raise error from exc
        size = int(response.get("ContentLength", len(data)))
        return WorkspaceFile(
            path=key.removeprefix(self._root),
            text=_decode(data[:max_bytes]),
            version=str(response["ETag"]),
            size=max(size, len(data)),
            truncated=len(data) > max_bytes,
        )

    async def write(
        self, path: str, text: str, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str:
        """Store `text` (conditionally); raises `VersionConflict` when S3 answers 412/409."""
        conditions: dict[str, str] = {}
        if if_match is not None:
            conditions["IfMatch"] = if_match
        if if_none_match:
            conditions["IfNoneMatch"] = "*"
        return await self._put(path, text.encode("utf-8"), "text/plain; charset=utf-8", conditions)

    async def write_bytes(self, path: str, data: bytes, *, content_type: str) -> str:
        """Store binary `data` (a screenshot) with its content type, unconditionally; returns the ETag."""
        return await self._put(path, data, content_type, {})

    async def _put(self, path: str, body: bytes, content_type: str, conditions: dict[str, str]) -> str:
        key = self._key(path)
        if_match = conditions.get("IfMatch")
        try:
            response = await self._s3.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                **conditions,  # type: ignore[arg-type]  # the stubs' TypedDict has no spread form
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _CONFLICT_CODES:
                raise VersionConflict(f"workspace file {path} changed since it was read") from exc
            if exc.response.get("Error", {}).get("Code") == "NoSuchKey" and if_match is not None:
                raise VersionConflict(f"workspace file {path} no longer exists") from exc
            raise classify_client_error(exc, f"PutObject {self._bucket}/{key}") from exc
        return str(response["ETag"])

    async def list(self, prefix: str = "") -> Sequence[str]:
        """Relative paths under `prefix`, sorted."""
        found: builtins.list[str] = []
        paginator = self._s3.get_paginator("list_objects_v2")
        try:
            async for page in paginator.paginate(Bucket=self._bucket, Prefix=self._root + prefix):
                found.extend(obj["Key"].removeprefix(self._root) for obj in page.get("Contents", []))
        except ClientError as exc:
            raise classify_client_error(exc, f"ListObjectsV2 {self._bucket}/{self._root}") from exc
        return sorted(found)
