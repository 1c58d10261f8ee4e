"""Blobs: bytes by key, with a version per blob and conditional writes (S3, or a local directory).

Workspace files, claim-checked message bodies and (later) transcript archives are blobs. Every blob has
a *version* — S3's ETag, or a content hash locally — and a write may be conditional, which is how two
writers never silently overwrite each other:

- `if_match=<version>`: replace the blob only if it is still that version (S3 `If-Match`);
- `if_none_match=True`: create the blob only if it does not exist (S3 `If-None-Match: *`).

A lost condition raises `VersionConflict`: re-read, apply the change again, write again. On S3 a lost
condition can also be the writer's own success: botocore retries a PUT whose response it did not get (a
read timeout, a connection reset after the request was sent), and when the first attempt had landed the
retry's condition fails against the object it wrote (412). So a 412 (or 409) after botocore retried,
on an object that now holds exactly the bytes this writer sent, is its success, and `put` returns that
version; an appender told "conflict" would re-read and append its line a second time. A 412 on a call
botocore did not retry stays a conflict, even for the same bytes (two appenders of the same line).
What this cannot tell: a landed write that another writer already built on before the retry (the blob
now holds more than this writer's bytes) is still a `VersionConflict`, and the re-read holds this
writer's change, so a read-modify-write caller recognises its own change there (the agent finds its
turn id in the transcript's tail, `agent/turn.py`; the workspace sync's merge of a change already made
is a no-op, `workspace_plan.py`).

A blob over the store's `max_bytes` is refused with `TooLarge` before anything is sent. Keys are relative,
`/`-separated, with no `.`/`..` segments (`check_key`), so no backend can be walked out of its root.
"""

from __future__ import annotations

import asyncio
import builtins
import fcntl
import hashlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import ClientError

from clawbus.bus.aws import classify_client_error, map_aws_errors, was_retried
from clawbus.bus.errors import PermanentError, TargetGone, TooLarge, VersionConflict
from clawbus.bus.logging import log_event
from clawbus.bus.private_files import append_private, make_private_dirs, write_private

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # one PutObject; bigger things belong in a multipart upload
_CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict"}
_LOCK_NAME = ".clawbus-blobs.lock"


@dataclass(frozen=True)
class Blob:
    """One blob as read: its bytes (the first `max_bytes` when `truncated`), version and full size."""

    key: str
    data: bytes
    version: str
    size: int
    truncated: bool = False


class BlobStore(Protocol):
    """Bytes by key with optimistic concurrency. Reads, lists and deletes are safe to retry; a conditional
    write either happened once or raised `VersionConflict`."""

    async def get(self, key: str, *, max_bytes: int | None = None) -> Blob | None:
        """The blob (its first `max_bytes` when given), or None when there is none."""
        ...

    async def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        """Store `data` at `key`; the new version. `VersionConflict` on a lost condition, `TooLarge`."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the blob (nothing happens when it is already gone)."""
        ...

    async def list(self, prefix: str = "") -> Sequence[str]:
        """Keys under `prefix` (a folder like `memory/`, or ''), sorted."""
        ...

    async def versions(self, prefix: str = "") -> Mapping[str, str]:
        """Key → version of every blob under `prefix`, from the listing alone (no blob is read from S3):
        what a sync compares with the versions it last saw, to fetch only what changed."""
        ...


def check_key(key: str, what: str = "blob key", example: str = "'claim-check/abc.json'") -> str:
    """`key` normalised (no leading `./`), or `PermanentError` for absolute keys, `..`, empty segments."""
    if not key or key.startswith("/") or "\\" in key or "\x00" in key:
        raise PermanentError(f"{what} {key!r} must be relative, like {example}")
    parts = [p for p in PurePosixPath(key).parts if p != "."]
    if not parts or any(p == ".." for p in parts) or "//" in key:
        raise PermanentError(f"{what} {key!r} must stay inside its store (no '..')")
    return "/".join(parts)


def content_version(data: bytes) -> str:
    """The local backend's version of some bytes: a content hash (equal bytes, equal version)."""
    return hashlib.sha256(data).hexdigest()[:32]


def _check_size(key: str, data: bytes, limit: int) -> None:
    if len(data) > limit:
        raise TooLarge(
            f"blob {key} is {len(data)} bytes, over this store's limit of {limit}; "
            "split it, or store a smaller summary and keep the rest elsewhere"
        )


class LocalBlobStore:
    """Blobs as files under `root` (development, the embedded default without S3, tests).

    Check-and-write holds an exclusive `flock` on a lock file in `root`, so conditional writes are atomic
    across processes sharing the directory; files are replaced atomically (write, then rename), created
    0600 in 0700 directories (they hold the owner's memory and chats).
    """

    def __init__(self, root: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self._root = root
        self._max_bytes = max_bytes

    async def get(self, key: str, *, max_bytes: int | None = None) -> Blob | None:
        """The blob, or None when there is no such file."""
        return await asyncio.to_thread(self._get, check_key(key), max_bytes)

    def _get(self, key: str, max_bytes: int | None) -> Blob | None:
        file = self._root / key
        if not file.is_file():
            return None
        data = file.read_bytes()
        limit = len(data) if max_bytes is None else max_bytes
        return Blob(key, data[:limit], content_version(data), len(data), len(data) > limit)

    async def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        """Store `data`; `VersionConflict` when the condition does not hold."""
        del content_type  # a local file has none
        clean = check_key(key)
        _check_size(clean, data, self._max_bytes)
        return await asyncio.to_thread(self._put, clean, data, if_match, if_none_match)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        make_private_dirs(self._root)
        with append_private(self._root / _LOCK_NAME) as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _put(self, key: str, data: bytes, if_match: str | None, if_none_match: bool) -> str:
        file = self._root / key
        with self._locked():
            exists = file.is_file()
            if if_none_match and exists:
                raise VersionConflict(f"{key} already exists")
            if if_match is not None and (not exists or content_version(file.read_bytes()) != if_match):
                raise VersionConflict(f"{key} changed since version {if_match}")
            make_private_dirs(file.parent)
            write_private(file, data)
        return content_version(data)

    async def delete(self, key: str) -> None:
        """Remove the file (nothing happens when it is already gone)."""
        await asyncio.to_thread((self._root / check_key(key)).unlink, missing_ok=True)

    async def list(self, prefix: str = "") -> Sequence[str]:
        """Keys under `prefix`, sorted (temporary and lock files excluded)."""
        return await asyncio.to_thread(self._list, prefix)

    async def versions(self, prefix: str = "") -> Mapping[str, str]:
        """Key → content hash (the version `get` and `put` report) under `prefix`."""
        return await asyncio.to_thread(self._versions, prefix)

    def _versions(self, prefix: str) -> dict[str, str]:
        return {key: content_version((self._root / key).read_bytes()) for key in self._list(prefix)}

    def _list(self, prefix: str) -> Sequence[str]:
        if not self._root.is_dir():
            return []
        found: builtins.list[str] = []
        for file in self._root.rglob("*"):
            rel = file.relative_to(self._root).as_posix()
            if file.is_file() and rel.startswith(prefix) and not file.name.startswith("."):
                found.append(rel)
        return sorted(found)


class S3BlobStore:
    """Blobs in one S3 bucket under an optional key `root` (`agents/main/workspace/`), with S3's
    conditional writes (`If-Match`, `If-None-Match: *`)."""

    def __init__(
        self, s3: S3Client, bucket: str, root: str = "", *, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._root = root
        self._max_bytes = max_bytes

    @property
    def bucket(self) -> str:
        """The bucket the blobs are in."""
        return self._bucket

    def _key(self, key: str) -> str:
        return self._root + check_key(key)

    async def get(self, key: str, *, max_bytes: int | None = None) -> Blob | None:
        """The blob, or None when there is no such object (a missing bucket is `TargetGone`)."""
        full = self._key(key)
        try:
            response = await self._s3.get_object(Bucket=self._bucket, Key=full)
            async with response["Body"] as stream:
                data = await (stream.read() if max_bytes is None else stream.read(max_bytes + 1))
        except ClientError as exc:
            error = classify_client_error(exc, f"GetObject {self._bucket}/{full}")
            if isinstance(error, TargetGone) and exc.response.get("Error", {}).get("Code") != "NoSuchBucket":
                return None
            raise error from exc
        size = max(int(response.get("ContentLength", len(data))), len(data))
        limit = len(data) if max_bytes is None else max_bytes
        return Blob(full.removeprefix(self._root), data[:limit], str(response["ETag"]), size, size > limit)

    async def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        """Store `data` (conditionally); `VersionConflict` when S3 answers 412/409; returns the ETag."""
        full = self._key(key)
        _check_size(full, data, self._max_bytes)
        conditions: dict[str, str] = {}
        if if_match is not None:
            conditions["IfMatch"] = if_match
        if if_none_match:
            conditions["IfNoneMatch"] = "*"
        try:
            response = await self._s3.put_object(
                Bucket=self._bucket,
                Key=full,
                Body=data,
                ContentType=content_type,
                **conditions,  # type: ignore[arg-type]  # the stubs' TypedDict has no spread form
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in _CONFLICT_CODES:
                landed = await self._landed(key, data) if was_retried(exc) else None
                if landed is not None:
                    return landed
                raise VersionConflict(f"{key} changed since it was read") from exc
            if code == "NoSuchKey" and if_match is not None:
                raise VersionConflict(f"{key} no longer exists") from exc
            raise classify_client_error(exc, f"PutObject {self._bucket}/{full}") from exc
        return str(response["ETag"])

    async def _landed(self, key: str, data: bytes) -> str | None:
        """The version of `key` when it holds exactly `data` (this writer's own write: see the module),
        else None. Compares the bytes: with SSE-KMS, as the Terraform's bucket has, an ETag is no MD5."""
        current = await self.get(key, max_bytes=len(data))
        if current is None or current.truncated or current.data != data:
            return None
        log_event(logger, "storage.blob.put.landed", key=self._key(key), version=current.version)
        return current.version

    async def delete(self, key: str) -> None:
        """Remove the object (S3 answers success when it is already gone)."""
        full = self._key(key)
        with map_aws_errors(f"DeleteObject {self._bucket}/{full}"):
            await self._s3.delete_object(Bucket=self._bucket, Key=full)

    async def list(self, prefix: str = "") -> Sequence[str]:
        """Keys under `prefix` (relative to the root), sorted."""
        return sorted(await self.versions(prefix))

    async def versions(self, prefix: str = "") -> Mapping[str, str]:
        """Key → ETag under `prefix`, from ListObjectsV2 (the ETag `get` and `put` report: single-part
        puts, which is every blob this store writes)."""
        found: dict[str, str] = {}
        paginator = self._s3.get_paginator("list_objects_v2")
        with map_aws_errors(f"ListObjectsV2 {self._bucket}/{self._root}"):
            async for page in paginator.paginate(Bucket=self._bucket, Prefix=self._root + prefix):
                for obj in page.get("Contents", []):
                    found[obj["Key"].removeprefix(self._root)] = str(obj.get("ETag", ""))
        return found
