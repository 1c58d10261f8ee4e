"""WebChat file uploads (issue 20): `POST /webchat/api/uploads` with the file as the raw body.

The page (or `clawbus say`) uploads each file first and names it in the message that carries it
(`attachments: [{upload, name}]`), so a message stays a small JSON body and a caption and its files are
one turn. The upload is kept in the state bucket at `media/uploads/<sha256>` (the same bytes twice are
one upload) and answered `201 {upload, size, media_type}`; the dispatcher later stores it under the
session's prefix like any channel's file. Behind the run's token like every WebChat route. A body over
the largest media cap is refused with 413 before it is stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from clawbus.bus.errors import ClawbusError
from clawbus.bus.http_body import BodyTooLarge, read_capped
from clawbus.bus.logging import log_event
from clawbus.bus.settings import Settings
from clawbus.ingress.http.webchat import error
from clawbus.storage.media import MediaStore, sniff

logger = logging.getLogger(__name__)


@dataclass
class WebchatUploads:
    """The upload endpoint over the state bucket's media store."""

    settings: Settings
    store: MediaStore

    async def post(self, request: Request) -> Response:
        """Keep one uploaded file; its id for the message that carries it."""
        if self.settings.webchat.dm_policy == "disabled":
            return error(403, "WebChat messages are turned off (CLAWBUS_WEBCHAT__DM_POLICY=disabled)")
        limit = self.settings.media.largest
        try:
            body = await read_capped(request, limit)
        except BodyTooLarge:
            log_event(logger, "ingress.upload.refused", reason="too_large", limit=limit)
            return error(413, f"file over {limit} bytes, the largest media cap (CLAWBUS_MEDIA__*_MAX_BYTES)")
        if not body:
            return error(422, "empty upload: send the file's bytes as the body")
        try:
            upload = await self.store.upload(body)
        except ClawbusError as exc:
            log_event(logger, "ingress.upload.failed", logging.WARNING, reason=str(exc)[:200])
            return error(503, "the upload cannot be stored right now; retry shortly", retry=True)
        log_event(logger, "ingress.upload.stored", size=len(body))
        return JSONResponse({"upload": upload, "size": len(body), "media_type": sniff(body)}, status_code=201)
