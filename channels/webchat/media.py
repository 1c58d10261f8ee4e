"""WebChat media: files uploaded to ingress (`POST /webchat/api/uploads`) before the message that
carries them, kept in the state bucket under `media/uploads/<sha256>`; a message names them by that id.

Fetching is reading the upload back from the bucket (no platform involved); the dispatcher then stores
it under the session's prefix like any channel's file.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Sequence

from clawbus.bus.errors import ConfigError, PermanentError, TooLarge
from clawbus.bus.settings import WebchatSettings
from clawbus.channels.media_download import MediaDeps, MediaGone, pending_ref
from clawbus.schemas import AttachmentRef
from clawbus.storage.media import MediaStore

SOURCE_PREFIX = "upload:"
UPLOAD_ID = re.compile(r"^[0-9a-f]{64}$")


def attachments(uploads: Sequence[tuple[str, str | None]]) -> tuple[AttachmentRef, ...]:
    """The uploads a message names, `(upload id, file name)` each, not fetched yet."""
    return tuple(
        pending_ref("document", f"{SOURCE_PREFIX}{upload}", media_type=None, size=None, name=name)
        for upload, name in uploads
    )


class WebchatMedia:
    """`MediaFetcher` for WebChat: the upload, read back from the bucket."""

    def __init__(self, store: MediaStore) -> None:
        self._store = store

    async def fetch(self, ref: AttachmentRef, max_bytes: int) -> bytes:
        """The upload's bytes; `MediaGone` when no such upload is stored."""
        upload = (ref.source or "").removeprefix(SOURCE_PREFIX)
        if not UPLOAD_ID.match(upload):
            raise PermanentError("webchat attachment without an upload id")
        data = await self._store.read(f"media/uploads/{upload}", max_bytes=max_bytes + 1)
        if data is None:
            raise MediaGone(f"webchat upload {upload[:12]} is not stored (expired, or never uploaded)")
        if len(data) > max_bytes:
            raise TooLarge(f"webchat upload: more than {max_bytes} bytes (the cap)")
        return data


@contextlib.asynccontextmanager
async def open_media(settings: WebchatSettings, deps: MediaDeps) -> AsyncIterator[WebchatMedia]:
    """A WebChat fetcher over the state bucket's uploads."""
    del settings
    if deps.uploads is None:
        raise ConfigError("webchat media needs the state bucket's media store")
    yield WebchatMedia(deps.uploads)
