"""Slack media: the `files` of a message (subtype `file_share`), and fetching one.

Each file object carries `url_private_download` (or `url_private`), `name`, `mimetype` and `size`
(api.slack.com/types/file). The url needs the bot token as bearer (scope `files:read`); the token goes
only to Slack's own hosts (`files.slack.com`) or the configured API base's host.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from clawbus.bus.errors import ConfigError, PermanentError
from clawbus.bus.settings import SlackSettings
from clawbus.channels.media_download import MediaDeps, download, pending_ref, same_site
from clawbus.schemas import AttachmentRef

DEFAULT_API_BASE = "https://slack.com/api/"
_SLACK_HOSTS = ("slack.com", "slack-edge.com")


def _kind(mimetype: str) -> str:
    major = mimetype.split("/", 1)[0]
    return major if major in ("image", "audio", "video") else "document"


def attachments(event: Mapping[str, Any]) -> tuple[AttachmentRef, ...]:
    """The message's files that can be downloaded, not fetched yet (others, e.g. external or
    tombstoned files, have no private url and are left out)."""
    files = event.get("files")
    found: list[AttachmentRef] = []
    for item in files if isinstance(files, list) else []:
        if not isinstance(item, dict):
            continue
        url = item.get("url_private_download") or item.get("url_private")
        if not isinstance(url, str) or not url:
            continue
        mimetype = item.get("mimetype") if isinstance(item.get("mimetype"), str) else None
        size = item.get("size") if isinstance(item.get("size"), int) else None
        name = item.get("name") if isinstance(item.get("name"), str) else None
        found.append(pending_ref(_kind(mimetype or ""), url, media_type=mimetype, size=size, name=name))
    return tuple(found)


class SlackMedia:
    """`MediaFetcher` for Slack: the private url with the bot token."""

    def __init__(self, client: httpx.AsyncClient, allowed: tuple[str, ...]) -> None:
        self._client = client
        self._allowed = allowed

    async def fetch(self, ref: AttachmentRef, max_bytes: int) -> bytes:
        """The file's bytes (`MediaGone` when it was deleted)."""
        if not ref.source or not same_site(ref.source, self._allowed):
            raise PermanentError("slack file url outside Slack's hosts; not sending the bot token there")
        return await download(self._client, ref.source, max_bytes=max_bytes, what="slack file")


@contextlib.asynccontextmanager
async def open_media(settings: SlackSettings, deps: MediaDeps) -> AsyncIterator[SlackMedia]:
    """A Slack fetcher for the life of the block."""
    if settings.bot_token is None:
        raise ConfigError("slack media needs CLAWBUS_SLACK__BOT_TOKEN")
    own_host = httpx.URL(settings.api_base or DEFAULT_API_BASE).host
    headers = {"authorization": f"Bearer {settings.bot_token.get_secret_value()}"}
    async with httpx.AsyncClient(timeout=deps.timeout_s, headers=headers, follow_redirects=False) as client:
        yield SlackMedia(client, (*_SLACK_HOSTS, own_host))
