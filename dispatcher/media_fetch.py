"""Fetching the files of a turn's messages before the turn runs (issue 20).

Why here and not in ingress: a webhook must be acknowledged within the platform's deadline (3 s for
Slack's Events API and Discord's interactions), and a 16 MB download does not fit in it; ingress only
puts the platform's reference on the envelope. The dispatcher already holds the session's FIFO order,
so a message's files are in the bucket before its turn and before any later message of the same
session, and a failed fetch retries the turn as any retryable failure does. docs/channels/media.md.

For each attachment not fetched yet: refuse it at once when the platform's claimed size is over its
kind's cap (`refusal`); otherwise fetch it with its channel's `MediaFetcher` (cut off at the largest
cap), sniff its type, check the cap of the sniffed kind, and store it content-addressed under the
session's prefix (`storage.media.MediaStore`: a redelivered turn stores nothing new). A file over its
cap, gone from the platform, or from a channel this deployment cannot fetch from is `refused` with a
sentence for the user; nothing of it is stored and the message's text is still answered. A retryable
platform error propagates: the turn is given back and tried again.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack
from typing import Any

from clawbus.bus.errors import PermanentError, TooLarge
from clawbus.bus.logging import log_event, session_ref
from clawbus.bus.settings import MediaSettings, Settings
from clawbus.channels import registry
from clawbus.channels.media_download import MediaDeps, MediaFetcher
from clawbus.schemas import AgentRequest, AttachmentRef, InboundEvent
from clawbus.schemas.inbound import human_size
from clawbus.storage.media import MediaStore, kind_of, sanitise_name, sniff

logger = logging.getLogger(__name__)


def _label(ref: AttachmentRef) -> str:
    return f"'{ref.name}'" if ref.name else f"the {ref.kind or 'file'}"


def too_large(ref: AttachmentRef, size: int, kind: str, cap: int) -> str:
    """The sentence the user reads when a file is over its kind's cap."""
    return f"{_label(ref)} is {human_size(size)}, over the {human_size(cap)} limit for {kind} files"


def refusal(ref: AttachmentRef, settings: MediaSettings) -> str | None:
    """Why `ref` is refused before any download (the platform's claimed size is over the cap), or None."""
    kind = ref.kind or "document"
    cap = settings.cap(kind)
    return too_large(ref, ref.size, kind, cap) if ref.size > cap else None


class MediaFetch:
    """Fetches and stores the attachments of a turn's events (see module); safe to repeat."""

    def __init__(
        self, fetchers: Mapping[str, MediaFetcher], store: MediaStore, settings: MediaSettings
    ) -> None:
        self._fetchers = fetchers
        self._store = store
        self._settings = settings

    async def fetched(self, request: AgentRequest) -> AgentRequest:
        """`request` with every event's attachments fetched (stored or refused)."""
        events = tuple([await self._event(event) for event in request.events])
        return request if events == request.events else request.model_copy(update={"events": events})

    async def _event(self, event: InboundEvent) -> InboundEvent:
        if all(a.fetched or a.refused for a in event.attachments):
            return event
        refs = tuple([await self._one(event, ref) for ref in event.attachments])
        return event.model_copy(update={"attachments": refs})

    async def _one(self, event: InboundEvent, ref: AttachmentRef) -> AttachmentRef:
        if ref.fetched or ref.refused:
            return ref
        name = sanitise_name(ref.name)
        ref = ref.model_copy(update={"name": name})
        reason = refusal(ref, self._settings)
        if reason is not None:
            return self._refused(event, ref, reason, "too_large")
        fetcher = self._fetchers.get(event.channel)
        if fetcher is None:
            reason = (
                f"{_label(ref)} could not be fetched: this deployment has no {event.channel} media access"
            )
            return self._refused(event, ref, reason, "unfetchable")
        kind = ref.kind or "document"
        cap = self._settings.cap(kind)
        try:
            data = await fetcher.fetch(ref, cap)
        except TooLarge:
            reason = f"{_label(ref)} is over the {human_size(cap)} limit for {kind} files"
            return self._refused(event, ref, reason, "too_large")
        except PermanentError as exc:
            log_event(
                logger, "dispatcher.media.gone", logging.WARNING, channel=event.channel, reason=str(exc)[:200]
            )
            return self._refused(
                event, ref, f"{_label(ref)} could not be fetched (it expired or was deleted)", "gone"
            )
        return await self._store_checked(event, ref, data)

    async def _store_checked(self, event: InboundEvent, ref: AttachmentRef, data: bytes) -> AttachmentRef:
        kind = kind_of(sniff(data[:4096], ref.media_type))
        cap = self._settings.cap(kind)
        if len(data) > cap:
            return self._refused(event, ref, too_large(ref, len(data), kind, cap), "too_large")
        stored = await self._store.store(event.session_key, data, ref.media_type)
        log_event(
            logger,
            "dispatcher.media.stored",
            channel=event.channel,
            event_id=event.event_id,
            session=session_ref(event.session_key),
            media_type=stored.media_type,
            size=stored.size,
            new=stored.created,
        )
        return ref.model_copy(
            update={
                "key": stored.key,
                "media_type": stored.media_type,
                "size": stored.size,
                "kind": kind if ref.kind in (None, "document") else ref.kind,
            }
        )

    def _refused(self, event: InboundEvent, ref: AttachmentRef, reason: str, code: str) -> AttachmentRef:
        log_event(
            logger,
            "dispatcher.media.refused",
            logging.WARNING,
            channel=event.channel,
            event_id=event.event_id,
            session=session_ref(event.session_key),
            kind=ref.kind,
            size=ref.size,
            reason=code,
        )
        return ref.model_copy(update={"refused": reason})


@contextlib.asynccontextmanager
async def open_media_fetch(settings: Settings, store: MediaStore) -> AsyncIterator[MediaFetch]:
    """A `MediaFetch` with a fetcher for every enabled channel that has one, open for the block."""
    deps = MediaDeps(timeout_s=settings.media.fetch_timeout_s, uploads=store)
    async with AsyncExitStack() as stack:
        fetchers: dict[str, MediaFetcher] = {}
        for spec in registry.all_channels():
            if spec.media is not None and spec.enabled(settings):
                cfg: Any = spec.settings(settings)
                fetchers[spec.name] = await stack.enter_async_context(spec.media(cfg, deps))
        yield MediaFetch(fetchers, store, settings.media)
