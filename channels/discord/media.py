"""Discord media: a message's `attachments`, and fetching one from Discord's CDN.

Each attachment object carries `url` (the CDN url, signed and valid for about a day), `filename`,
`content_type` and `size` (discord.com/developers/docs/resources/message#attachment-object). The CDN
needs no token, so none is sent; urls outside Discord's CDN hosts (or the configured API base's host,
for tests) are refused.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from clawbus.bus.errors import PermanentError
from clawbus.bus.settings import DiscordSettings
from clawbus.channels.media_download import MediaDeps, download, pending_ref, same_site
from clawbus.schemas import AttachmentRef

DEFAULT_API_BASE = "https://discord.com/api/v10"
_CDN_HOSTS = ("discordapp.com", "discordapp.net", "discord.com")


def _kind(content_type: str) -> str:
    major = content_type.split("/", 1)[0]
    return major if major in ("image", "audio", "video") else "document"


def attachments(message: Mapping[str, Any]) -> tuple[AttachmentRef, ...]:
    """The message's attachments, not fetched yet (a voice message is kind `voice`)."""
    items = message.get("attachments")
    voice = isinstance(message.get("flags"), int) and bool(message["flags"] & (1 << 13))  # IS_VOICE_MESSAGE
    found: list[AttachmentRef] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            continue
        content_type = item.get("content_type") if isinstance(item.get("content_type"), str) else None
        kind = "voice" if voice else _kind(content_type or "")
        size = item.get("size") if isinstance(item.get("size"), int) else None
        name = item.get("filename") if isinstance(item.get("filename"), str) else None
        found.append(pending_ref(kind, item["url"], media_type=content_type, size=size, name=name))
    return tuple(found)


class DiscordMedia:
    """`MediaFetcher` for Discord's CDN."""

    def __init__(self, client: httpx.AsyncClient, allowed: tuple[str, ...]) -> None:
        self._client = client
        self._allowed = allowed

    async def fetch(self, ref: AttachmentRef, max_bytes: int) -> bytes:
        """The attachment's bytes (`MediaGone` once the signed url expired)."""
        if not ref.source or not same_site(ref.source, self._allowed):
            raise PermanentError("discord attachment url outside Discord's CDN")
        return await download(self._client, ref.source, max_bytes=max_bytes, what="discord attachment")


@contextlib.asynccontextmanager
async def open_media(settings: DiscordSettings, deps: MediaDeps) -> AsyncIterator[DiscordMedia]:
    """A Discord fetcher for the life of the block."""
    own_host = httpx.URL(settings.api_base or DEFAULT_API_BASE).host
    async with httpx.AsyncClient(timeout=deps.timeout_s, follow_redirects=False) as client:
        yield DiscordMedia(client, (*_CDN_HOSTS, own_host))
