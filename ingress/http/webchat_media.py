"""WebChat's files: `GET /webchat/api/media/<key>` answers a file a reply sent, from the state bucket.

A reply's file reaches the WebChat history as a part naming its key (`media/<session ref>/<sha256>`,
stored by the agent, content-addressed). The page asks for it here, behind the same token check as the
rest of the API (`access.RequireToken`), so only the run's owner can read it. Only keys of that shape are
served. The bytes are the agent's, so nothing the browser could run is served inline: images of the
types below are shown (`?type=`), everything else is a download, always with `nosniff` and a sandboxing
Content-Security-Policy.
"""

from __future__ import annotations

import logging
import re

from starlette.requests import Request
from starlette.responses import Response

from clawbus.bus.errors import ClawbusError
from clawbus.bus.logging import log_event
from clawbus.ingress.http.webchat import error
from clawbus.storage.blobs import BlobStore

logger = logging.getLogger(__name__)
_KEY = re.compile(r"media/[0-9a-f]{12}/[0-9a-f]{64}")
_INLINE = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_NAME = re.compile(r"[^A-Za-z0-9._ -]")


class WebchatMedia:
    """Serves reply files from the blob store the agent put them in."""

    def __init__(self, blobs: BlobStore) -> None:
        self._blobs = blobs

    async def get(self, request: Request) -> Response:
        """The file's bytes; 404 for a key that is not a reply file or is gone, 503 when unreadable."""
        key = request.path_params["key"]
        if not _KEY.fullmatch(key):
            return error(404, "no such file")
        try:
            blob = await self._blobs.get(key)
        except ClawbusError as exc:
            log_event(logger, "ingress.webchat.media_read_failed", logging.WARNING, reason=str(exc)[:300])
            return error(503, "the file cannot be read right now; retry shortly", retry=True)
        if blob is None:
            return error(404, "the file is no longer available")
        declared = request.query_params.get("type", "")
        name = _NAME.sub("_", request.query_params.get("name", "file"))[:120] or "file"
        inline = declared in _INLINE
        headers = {
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, max-age=3600",
            "Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{name}"',
        }
        media_type = declared if inline else "application/octet-stream"
        return Response(blob.data, media_type=media_type, headers=headers)
