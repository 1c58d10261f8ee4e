"""Inbound media in the state bucket: content-addressed, under the session's prefix, typed from the bytes.

A user's file is stored once per session at `media/<session ref>/<sha256>` (`session ref`: the same
hash of the session key the logs carry, so no chat id shows in a key). Storing is a create-only put
(`If-None-Match: *`): a redelivered turn fetching the same file again finds it there and stores nothing
new, on a versioned bucket too. The bucket's default encryption applies as to every blob (SSE-KMS,
infra/terraform/modules/state), and its lifecycle rule expires `media/` after `media_expiry_days`.

The media type is sniffed from the bytes with puremagic (pure Python, maintained, no libmagic to
install in the images), never taken from the platform; a claimed type is used only for what magic
numbers cannot tell (text). Names are sanitised to a plain file name.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import unicodedata
from dataclasses import dataclass

import puremagic

from clawbus.bus.errors import VersionConflict
from clawbus.bus.logging import session_ref
from clawbus.storage.blobs import BlobStore

PREFIX = "media/"
UPLOADS = "media/uploads/"  # WebChat's uploads, before a message claims them
_UNSAFE = re.compile(r"[^\w .()+-]+")
MAX_NAME = 100
OCTET = "application/octet-stream"


def sniff(data: bytes, claimed: str | None = None) -> str:
    """The media type the bytes are, from their magic numbers (`application/octet-stream` when unknown).

    OGG is told apart by its first codec header (Opus or Vorbis: `audio/ogg`); bytes with no magic that
    decode as UTF-8 are `text/plain` (or the claimed `text/*` type, e.g. `text/csv`).
    """
    head = data[:64]
    if head.startswith(b"OggS"):
        return "audio/ogg" if b"OpusHead" in head or b"\x01vorbis" in head else "video/ogg"
    try:
        found = str(puremagic.from_string(data, mime=True))
    except (puremagic.PureError, ValueError):
        found = ""
    if found:
        return found
    try:
        data[:65536].decode("utf-8")
    except UnicodeDecodeError:
        return OCTET
    base = (claimed or "").split(";", 1)[0].strip().lower()
    return base if base.startswith("text/") else "text/plain"


def kind_of(media_type: str) -> str:
    """The cap kind of a sniffed media type: image, audio, video or document."""
    major = media_type.split("/", 1)[0]
    return major if major in ("image", "audio", "video") else "document"


def sanitise_name(name: str | None) -> str | None:
    """A plain file name: no folders, no control or shell characters, no leading dots, at most 100
    characters (the extension kept); None when nothing is left."""
    if not name:
        return None
    base = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", "".join(c for c in base if unicodedata.category(c)[0] != "C"))
    base = base.strip(" ._")
    if len(base) > MAX_NAME:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: MAX_NAME - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else base[:MAX_NAME]
    return base or None


def media_key(session_key: str, data: bytes) -> str:
    """Where a file's bytes live: `media/<session ref>/<sha256>`."""
    return f"{PREFIX}{session_ref(session_key)}/{hashlib.sha256(data).hexdigest()}"


@dataclass(frozen=True)
class StoredMedia:
    """A stored file: its key, sniffed type, size, and whether this call created it."""

    key: str
    media_type: str
    size: int
    created: bool


class MediaStore:
    """The session's media on a `BlobStore` (the state bucket's, `storage.backends.blob_store`)."""

    def __init__(self, blobs: BlobStore) -> None:
        self._blobs = blobs

    async def store(self, session_key: str, data: bytes, claimed: str | None = None) -> StoredMedia:
        """Store `data` once for the session; safe to repeat (the second call creates nothing)."""
        media_type = sniff(data, claimed)
        key = media_key(session_key, data)
        try:
            await self._blobs.put(key, data, content_type=media_type, if_none_match=True)
        except VersionConflict:
            return StoredMedia(key, media_type, len(data), created=False)
        return StoredMedia(key, media_type, len(data), created=True)

    async def read(self, key: str, max_bytes: int | None = None) -> bytes | None:
        """A stored file's bytes (None when it expired or never was)."""
        blob = await self._blobs.get(key, max_bytes=max_bytes)
        return None if blob is None else blob.data

    async def upload(self, data: bytes) -> str:
        """Keep a WebChat upload until a message claims it; its id (the sha256)."""
        digest = hashlib.sha256(data).hexdigest()
        with contextlib.suppress(VersionConflict):  # the same bytes were uploaded before
            await self._blobs.put(f"{UPLOADS}{digest}", data, if_none_match=True)
        return digest
