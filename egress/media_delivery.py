"""The files of a reply on one platform: each is one more "chunk" of the reply, after its text.

A file is a `ReplyMedia` in the envelope (a key in the state bucket, never the bytes). When the sent
ledger says it must be posted, `MediaDelivery.prepare` reads it from the bucket and decides its call
(`core/media_plan.py`); the chunked sender then posts it under the same intent → call → receipt cycle
as a text chunk, so a file goes out once and in order with the text. A file that cannot go out (over
the platform's limit, gone from the bucket, a platform without file uploads) becomes a text in its
place, posted through the same cycle, so the user always learns what was not sent.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from clawbus.bus.logging import log_event
from clawbus.channels.contracts import MediaFile, PlatformClient, PostsMedia, Profile
from clawbus.egress.core.media_plan import Notice, Upload, decide_upload
from clawbus.schemas import OutboundReply, ReplyMedia
from clawbus.storage.blobs import Blob

logger = logging.getLogger(__name__)


def media_key(channel: str, reply_id: str, index: int) -> str:
    """The ledger key of a reply's `index`th file on one channel (text chunks are `<part>.<chunk>`)."""
    return f"sent:{channel}:{reply_id}:media.{index}"


class MediaSource(Protocol):
    """Where the agent stored the files (the state bucket's blob store)."""

    async def get(self, key: str, *, max_bytes: int | None = None) -> Blob | None: ...


@dataclass(frozen=True)
class MediaDelivery:
    """Reads a reply's files and decides how each goes out on the client's platform."""

    profile: Profile
    client: PlatformClient
    source: MediaSource | None

    @property
    def reconciles(self) -> bool:
        """Whether the client's `reconcile` can settle an interrupted upload too."""
        return isinstance(self.client, PostsMedia) and self.client.reconciles_media

    async def prepare(
        self, reply: OutboundReply, media: ReplyMedia, *, first: bool, key: str
    ) -> Callable[[], Awaitable[str]]:
        """The platform call that posts `media` (or the text in its place); safe to call again."""
        caps = self.profile.media if isinstance(self.client, PostsMedia) else None
        decision = decide_upload(media, caps, self.profile.name.capitalize())
        blob = None
        if isinstance(decision, Upload):
            blob = await self.source.get(media.key) if self.source is not None else None
            if blob is None:
                decision = Notice(f"📎 {media.name} is no longer available to send.")
        log_event(
            logger,
            "egress.media.planned",
            channel=self.profile.name,
            reply_id=reply.reply_id,
            chunk=key,
            media_type=media.media_type,
            size=media.size,
            send_as=decision.send_as.value if isinstance(decision, Upload) else "notice",
        )
        if isinstance(decision, Notice) or blob is None or not isinstance(self.client, PostsMedia):
            text = self.profile.style.escape(decision.text if isinstance(decision, Notice) else "")
            client = self.client
            return lambda: client.post(reply.target, text, first=first, key=key)
        upload = MediaFile(blob.data, media.name, media.media_type, decision.send_as, media.caption)
        poster = self.client
        return lambda: poster.post_media(reply.target, upload, first=first, key=key)
