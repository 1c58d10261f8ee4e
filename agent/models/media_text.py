"""How a user's file (a `Media` block, issue 20) reads as text or as chat content parts: for models
without image input, for later turns (the transcript keeps references, not bytes), for the offline
echo, and for OpenAI-style endpoints (OpenAI-compatible models, OpenClaw's gateway). Pure."""

from __future__ import annotations

import base64
from collections.abc import Sequence

from clawbus.agent.models.base import Media
from clawbus.schemas.inbound import human_size

IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}


def describe(media: Media) -> str:
    """`image/jpeg, 48 KB, 'receipt.jpg'`: what the file is, for someone who cannot open it."""
    parts = [media.media_type, human_size(media.size)]
    if media.name:
        parts.append(f"'{media.name}'")
    return ", ".join(parts)


def media_text(media: Media) -> str:
    """A block as text: what a model reads instead of the file itself."""
    if media.refused:
        return f"[The user sent a file that was not accepted: {media.refused}.]"
    if media.kind in ("voice", "audio") and media.text:
        return f"[Voice note ({describe(media)}), transcript:] {media.text}"
    if media.not_transcribed:
        return f"[Voice note ({describe(media)}), could not transcribe: {media.not_transcribed}]"
    if media.text:
        return f"[File {describe(media)}:]\n{media.text}"
    return f"[File {describe(media)}]"


def chat_content(text: str, media: Sequence[Media]) -> str | list[dict[str, object]]:
    """An OpenAI-style user `content` for `text` and the user's files: the text alone when there are
    none, else parts (images as `image_url` data URLs, other files as their text). OpenClaw's gateway
    takes `image_url` parts in the latest user message (gateway/openai-http-api.md: at most 8)."""
    if not media:
        return text
    parts: list[dict[str, object]] = [{"type": "text", "text": text}] if text else []
    for block in media:
        if block.data is not None and block.media_type in IMAGE_TYPES:
            url = f"data:{block.media_type};base64,{base64.b64encode(block.data).decode()}"
            parts.append({"type": "image_url", "image_url": {"url": url}})
        else:
            parts.append({"type": "text", "text": media_text(block)})
    return parts
