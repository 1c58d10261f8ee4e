"""The user's files as `Media` blocks of their message, read from the state bucket before the turn.

`MediaReader.blocks(request)` reads each stored attachment of the turn's events once: images keep their
bytes (up to `IMAGE_BYTES`, Bedrock's per-image limit; bigger ones are named), PDFs and text files
become text, audio its transcript (or why it has none: `not_transcribed`, the audio still attached); a
refused attachment (over its cap, gone) stays a block with its reason, and `refusal_parts` tells the
user in the reply, whatever the model says. How a block reads as text (`media_text`, `describe`) is in
`agent/models/media_text.py`, beside the models that use it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from clawbus.agent.media.documents import document_text
from clawbus.agent.media.transcribe import AudioClip, NotTranscribed, Transcriber
from clawbus.agent.models.base import Block, Media, Message, Text
from clawbus.agent.models.media_text import IMAGE_TYPES
from clawbus.bus.logging import log_event, session_ref
from clawbus.schemas import AgentRequest, AttachmentRef
from clawbus.storage.media import MediaStore

logger = logging.getLogger(__name__)

IMAGE_BYTES = 3_750_000  # Bedrock Converse's limit per image


def user_message(text: str, media: Sequence[Media]) -> Message:
    """The user's message: their text (when any), then their files."""
    blocks: tuple[Block, ...] = ((Text(text),) if text else ()) + tuple(media)
    return Message("user", blocks or (Text(""),))


def refusal_parts(media: Sequence[Media]) -> tuple[str, ...]:
    """The reply's first part when files were refused: one sentence naming each and why."""
    refused = [m.refused for m in media if m.refused]
    if not refused:
        return ()
    return ("Not received: " + "; ".join(refused) + ".",)


class MediaReader:
    """Reads a turn's stored files into `Media` blocks (see module)."""

    def __init__(self, store: MediaStore, transcriber: Transcriber | None, document_chars: int) -> None:
        self._store = store
        self._transcriber = transcriber
        self._document_chars = document_chars

    async def blocks(self, request: AgentRequest) -> tuple[Media, ...]:
        """Every attachment of the turn's events, in order, as a block."""
        found: list[Media] = []
        for event in request.events:
            for ref in event.attachments:
                found.append(await self._block(ref, request))
        return tuple(found)

    async def _block(self, ref: AttachmentRef, request: AgentRequest) -> Media:
        kind = ref.kind or "document"
        media = Media(ref.media_type, ref.size, ref.name, kind, ref.key, refused=ref.refused)
        if ref.refused or not ref.fetched:
            reason = ref.refused or "it was never fetched"
            return Media(ref.media_type, ref.size, ref.name, kind, ref.key, refused=reason)
        data = await self._store.read(ref.key)
        if data is None:
            log_event(
                logger, "agent.media.missing", logging.WARNING, session=session_ref(request.session_key)
            )
            return Media(ref.media_type, ref.size, ref.name, kind, ref.key, refused="it is no longer stored")
        if ref.media_type in IMAGE_TYPES and len(data) <= IMAGE_BYTES:
            return Media(ref.media_type, ref.size, ref.name, "image", ref.key, data=data)
        if ref.media_type.startswith("audio/") and self._transcriber is not None:
            try:
                words = await self._transcriber.transcribe(AudioClip(data, ref.media_type, ref.key))
            except NotTranscribed as exc:
                log_event(
                    logger,
                    "agent.media.not_transcribed",
                    logging.WARNING,
                    session=session_ref(request.session_key),
                    reason=str(exc),
                )
                return Media(ref.media_type, ref.size, ref.name, kind, ref.key, not_transcribed=str(exc))
            log_event(
                logger,
                "agent.media.transcribed",
                session=session_ref(request.session_key),
                words=len(words.split()) if words else 0,
            )
            return Media(ref.media_type, ref.size, ref.name, kind, ref.key, text=words)
        text = await document_text(data, ref.media_type, self._document_chars)
        return Media(ref.media_type, ref.size, ref.name, kind, ref.key, text=text) if text else media
