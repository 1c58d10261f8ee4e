"""Downloading a user's media from a platform: the shared part of every channel's `media.py`.

Each channel knows how to turn its reference into a URL (Telegram `getFile`, WhatsApp's media id lookup,
Slack's `url_private`, Discord's CDN url); this module streams the bytes with a size cap and classifies
what went wrong, once, at the boundary: a timeout, a reset or a 5xx/429 is retryable (the turn is tried
again), a 404/410/403 is `MediaGone` (the file expired or was deleted: the user is told), a body over
the cap is `TooLarge` (cut off as soon as it passes the cap, so nothing over it is ever held).
`pending_ref` is what a normaliser puts on the envelope until the dispatcher has fetched it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from clawbus.bus.errors import DeadlineExceeded, PermanentError, Throttled, TooLarge, Unavailable
from clawbus.schemas import AttachmentRef
from clawbus.storage.media import MediaStore

_GONE = {401, 403, 404, 410}


class MediaGone(PermanentError):
    """The platform no longer has the file (expired, deleted) or will not hand it to this bot."""


@dataclass(frozen=True)
class MediaDeps:
    """What a channel's fetcher is built with: the HTTP timeout and, for WebChat, the upload store."""

    timeout_s: float
    uploads: MediaStore | None = None  # WebChat's uploads, in the state bucket


class MediaFetcher(Protocol):
    """Fetches one attachment's bytes from its platform (`ref.source`), at most `max_bytes` of them.

    Raises `TooLarge` over the cap, `MediaGone` (permanent) when the platform has no such file, a
    `RetryableError` when the platform may answer later. Safe to retry.
    """

    async def fetch(self, ref: AttachmentRef, max_bytes: int) -> bytes: ...


def pending_ref(
    kind: str, source: str, *, media_type: str | None, size: int | None, name: str | None
) -> AttachmentRef:
    """An attachment as ingress sees it: the platform's reference and claims, not fetched yet."""
    return AttachmentRef(
        key="",
        media_type=media_type or "application/octet-stream",
        size=max(int(size or 0), 0),
        name=name or None,
        kind=kind,
        source=source,
    )


def same_site(url: str, allowed: tuple[str, ...]) -> bool:
    """Whether `url` is https (or loopback http) on one of the `allowed` host names (or a subdomain):
    a bot token only ever goes to its own platform."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    loopback = host in ("127.0.0.1", "localhost") and parts.scheme == "http"
    if parts.scheme != "https" and not loopback:
        return False
    return any(host == a or host.endswith("." + a) for a in allowed)


def _status_error(status: int, what: str, retry_after: str | None) -> Exception | None:
    if status < 400:
        return None
    if status == 429:
        after = float(retry_after) if retry_after and retry_after.isdigit() else None
        return Throttled(f"{what}: HTTP 429", retry_after=after)
    if status >= 500:
        return Unavailable(f"{what}: HTTP {status}")
    if status in _GONE:
        return MediaGone(f"{what}: HTTP {status} (expired, deleted, or not this bot's)")
    return PermanentError(f"{what}: HTTP {status}")


def check_status(response: httpx.Response, what: str) -> None:
    """Raise the classified error of a non-2xx answer (see module)."""
    error = _status_error(response.status_code, what, response.headers.get("retry-after"))
    if error is not None:
        raise error


async def download(
    client: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int,
    what: str,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """The body at `url`, streamed, refused with `TooLarge` as soon as it passes `max_bytes`."""
    try:
        async with client.stream("GET", url, headers=dict(headers or {})) as response:
            check_status(response, what)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise TooLarge(f"{what}: {int(declared)} bytes, over the cap of {max_bytes}")
            chunks: list[bytes] = []
            total = 0
            async for chunk in response.aiter_bytes():
                total += len(chunk)
                if total > max_bytes:
                    raise TooLarge(f"{what}: more than {max_bytes} bytes (the cap)")
                chunks.append(chunk)
    except httpx.TimeoutException as exc:
        raise DeadlineExceeded(f"{what}: timed out") from exc
    except httpx.TransportError as exc:
        raise Unavailable(f"{what}: {type(exc).__name__}") from exc
    return b"".join(chunks)


async def get_json(
    client: httpx.AsyncClient, method: str, url: str, *, what: str, **kwargs: object
) -> dict[str, object]:
    """A platform API call's JSON object answer, errors classified as `download`'s are."""
    try:
        response = await client.request(method, url, **kwargs)  # type: ignore[arg-type]  # httpx's kwargs
    except httpx.TimeoutException as exc:
        raise DeadlineExceeded(f"{what}: timed out") from exc
    except httpx.TransportError as exc:
        raise Unavailable(f"{what}: {type(exc).__name__}") from exc
    check_status(response, what)
    try:
        body = response.json()
    except ValueError as exc:
        raise Unavailable(f"{what}: an answer that is not JSON") from exc
    if not isinstance(body, dict):
        raise PermanentError(f"{what}: an answer that is not a JSON object")
    return body
