"""Media the users send (issue 20, docs/channels/media.md): size caps per kind, how long stored media
lives, and how voice notes become text.

The image, audio and video caps are OpenClaw's media-understanding defaults (nodes/media-understanding.md:
10, 20 and 50 MB); a platform may allow less (Telegram bots download at most 20 MB). Caps are checked
while the bytes come in (a download over its cap is cut, nothing is stored) and again on the sniffed
type. `expiry_days` is the state bucket's lifecycle rule for `media/` (Terraform's
`media_expiry_days`); the embedded default keeps media until the data dir goes. `transcriber`: `local`
(pocketsphinx, offline, the model ships in its wheel), `transcribe` (Amazon Transcribe, in AWS), or
`none` (audio is named, not transcribed).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

MB = 1024 * 1024


class MediaSettings(BaseModel):
    """Inbound media: caps per kind, fetch timeout, expiry, transcription."""

    image_max_bytes: int = Field(default=10 * MB, ge=1024)
    audio_max_bytes: int = Field(default=20 * MB, ge=1024)
    video_max_bytes: int = Field(default=50 * MB, ge=1024)
    document_max_bytes: int = Field(default=20 * MB, ge=1024)
    fetch_timeout_s: float = Field(default=30.0, gt=0)
    expiry_days: int = Field(default=30, ge=1)
    transcriber: Literal["local", "transcribe", "none"] = "local"
    transcribe_language: str = "en-US"
    # How long a turn waits for an Amazon Transcribe job before it reads "could not transcribe".
    transcribe_timeout_s: float = Field(default=120.0, gt=0)
    document_text_chars: int = Field(default=20_000, ge=100)  # of a PDF's or text file's text, to the model

    def cap(self, kind: str) -> int:
        """The byte cap of a kind (`image`, `audio`/`voice`, `video`, anything else: `document`)."""
        if kind in ("image", "sticker", "photo"):
            return self.image_max_bytes
        if kind in ("audio", "voice"):
            return self.audio_max_bytes
        if kind in ("video", "video_note"):
            return self.video_max_bytes
        return self.document_max_bytes

    @property
    def largest(self) -> int:
        """The largest cap: how far a download goes before the kind is known from the bytes."""
        return max(self.image_max_bytes, self.audio_max_bytes, self.video_max_bytes, self.document_max_bytes)
