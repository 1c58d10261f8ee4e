"""Telegram media: which files a message carries, and fetching one (`getFile`, then the file URL).

A photo arrives as several sizes: the largest is taken. Documents, voice notes, audio, video notes,
videos and stickers carry one file each. The reference is the `file_id`; `getFile` turns it into a
`file_path` valid for at least an hour, downloaded from `<api base>/file/bot<token>/<file_path>`
(core.telegram.org/bots/api#getfile). Bots may download files up to 20 MB.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from telegram import Message

from clawbus.bus.errors import ConfigError, PermanentError
from clawbus.bus.settings import TelegramSettings
from clawbus.channels.media_download import MediaDeps, MediaGone, download, get_json, pending_ref
from clawbus.schemas import AttachmentRef

DEFAULT_API_BASE = "https://api.telegram.org"


# (message attribute, kind, media type when Telegram gives none)
_SINGLE_FILES = (
    ("document", "document", None),
    ("audio", "audio", None),
    ("video", "video", "video/mp4"),
    ("voice", "voice", "audio/ogg"),
    ("video_note", "video", "video/mp4"),
    ("sticker", "sticker", "image/webp"),
)


def attachments(message: Message) -> tuple[AttachmentRef, ...]:
    """The files of a message, not fetched yet (the largest size of a photo)."""
    found: list[AttachmentRef] = []
    if message.photo:
        big = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        found.append(
            pending_ref("image", big.file_id, media_type="image/jpeg", size=big.file_size, name=None)
        )
    for attribute, kind, default_type in _SINGLE_FILES:
        item = getattr(message, attribute)
        if item is None:
            continue
        media_type = getattr(item, "mime_type", None) or default_type
        name = getattr(item, "file_name", None)
        found.append(pending_ref(kind, item.file_id, media_type=media_type, size=item.file_size, name=name))
    return tuple(found)


class TelegramMedia:
    """`MediaFetcher` for Telegram: `getFile`, then the file's URL."""

    def __init__(self, client: httpx.AsyncClient, base: str, token: str) -> None:
        self._client = client
        self._base = base
        self._token = token

    async def fetch(self, ref: AttachmentRef, max_bytes: int) -> bytes:
        """The file's bytes; `MediaGone` when Telegram no longer has it."""
        if not ref.source:
            raise PermanentError("telegram attachment without a file_id")
        answer = await get_json(
            self._client,
            "POST",
            f"{self._base}/bot{self._token}/getFile",
            what="telegram getFile",
            json={"file_id": ref.source},
        )
        result = answer.get("result")
        path = result.get("file_path") if isinstance(result, dict) else None
        if not answer.get("ok") or not isinstance(path, str) or not path:
            raise MediaGone("telegram getFile: no file_path (the file is gone or over 20 MB)")
        url = f"{self._base}/file/bot{self._token}/{path}"
        return await download(self._client, url, max_bytes=max_bytes, what="telegram file")


@contextlib.asynccontextmanager
async def open_media(settings: TelegramSettings, deps: MediaDeps) -> AsyncIterator[TelegramMedia]:
    """A Telegram fetcher for the life of the block."""
    if settings.bot_token is None:
        raise ConfigError("telegram media needs CLAWBUS_TELEGRAM__BOT_TOKEN")
    base = (settings.api_base or DEFAULT_API_BASE).rstrip("/")
    async with httpx.AsyncClient(timeout=deps.timeout_s) as client:
        yield TelegramMedia(client, base, settings.bot_token.get_secret_value())
