"""WhatsApp media: the file of an image, document, audio (voice notes too), video or sticker message, and
fetching it.

A media message carries a media `id` (and `caption` for image, video and document; `filename` for a
document; `voice: true` for a voice note). Fetching is two calls with the access token as bearer
(developers.facebook.com/docs/whatsapp/cloud-api/reference/media): `GET /v<version>/<media id>` answers
`{url, mime_type, file_size}`, then `GET <url>` with the same token gives the bytes. The url is valid
for 5 minutes, so it is looked up again on every fetch; the media id for 30 days.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from pywa.types.message import Message

from clawbus.bus.errors import ConfigError, PermanentError
from clawbus.bus.settings import WhatsappSettings
from clawbus.channels.media_download import (
    MediaDeps,
    MediaGone,
    download,
    get_json,
    pending_ref,
    same_site,
)
from clawbus.schemas import AttachmentRef

DEFAULT_API_BASE = "https://graph.facebook.com"
MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")
_MEDIA_HOSTS = ("facebook.com", "fbcdn.net", "whatsapp.net")


def attachments(message: Message) -> tuple[AttachmentRef, ...]:
    """The message's file, not fetched yet (a voice note is kind `voice`)."""
    media = message.media
    if media is None or not media.id:
        return ()
    kind = str(message.type)
    if kind == "audio" and getattr(media, "voice", False):
        kind = "voice"
    return (pending_ref(kind, media.id, media_type=media.mime_type, size=None, name=media.filename),)


class WhatsappMedia:
    """`MediaFetcher` for the WhatsApp Cloud API."""

    def __init__(self, client: httpx.AsyncClient, base: str, allowed: tuple[str, ...]) -> None:
        self._client = client
        self._base = base
        self._allowed = allowed

    async def fetch(self, ref: AttachmentRef, max_bytes: int) -> bytes:
        """The media's bytes; `MediaGone` when Meta no longer has it (30 days after it was sent)."""
        if not ref.source or not ref.source.isalnum():
            raise PermanentError("whatsapp attachment without a media id")
        found = await get_json(self._client, "GET", f"{self._base}/{ref.source}", what="whatsapp media")
        url = found.get("url")
        if not isinstance(url, str) or not url:
            raise MediaGone("whatsapp media: no url (the media expired)")
        if not same_site(url, self._allowed):
            raise PermanentError("whatsapp media: a url outside Meta's hosts; not sending the token there")
        return await download(self._client, url, max_bytes=max_bytes, what="whatsapp media download")


@contextlib.asynccontextmanager
async def open_media(settings: WhatsappSettings, deps: MediaDeps) -> AsyncIterator[WhatsappMedia]:
    """A WhatsApp fetcher for the life of the block (the access token on every call)."""
    if settings.access_token is None:
        raise ConfigError("whatsapp media needs CLAWBUS_WHATSAPP__ACCESS_TOKEN")
    base = (settings.api_base or DEFAULT_API_BASE).rstrip("/")
    own_host = httpx.URL(base).host
    headers = {"authorization": f"Bearer {settings.access_token.get_secret_value()}"}
    async with httpx.AsyncClient(timeout=deps.timeout_s, headers=headers) as client:
        yield WhatsappMedia(client, f"{base}/v{settings.api_version}", (*_MEDIA_HOSTS, own_host))
