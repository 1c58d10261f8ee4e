"""How a file the agent attached goes out on one platform, given the platform's `MediaCaps`.

Each platform has richer calls for some kinds (Telegram's sendPhoto/sendVoice, WhatsApp's image and
audio messages) with their own types and caps, and a plain document call for everything else, with the
platform's overall cap. So: the first kind whose types include the file's and whose cap it fits is the
call; a photo over the photo cap, or of a type the photo call does not take, goes as a document; a file
over the platform's overall cap is not sent, and the user gets a text that names it and the limit
instead (in the file's place, so the reply keeps its order). A voice note is chosen only for a file
the agent marked `as_voice` (OpenClaw: audio goes as an audio file unless the reply says
`[[audio_as_voice]]`). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from clawbus.channels.contracts import MB, MediaCaps, SendAs
from clawbus.schemas import ReplyMedia

_ORDER = (SendAs.PHOTO, SendAs.VOICE, SendAs.AUDIO, SendAs.VIDEO)


@dataclass(frozen=True)
class Upload:
    """Upload the file with this call."""

    send_as: SendAs


@dataclass(frozen=True)
class Notice:
    """Send this text in the file's place (it cannot go out on this platform)."""

    text: str


def decide_upload(media: ReplyMedia, caps: MediaCaps | None, platform: str) -> Upload | Notice:
    """The call `media` goes out with on `platform`, or the text that replaces it."""
    if caps is None:
        return Notice(f"📎 {media.name} ({_size(media.size)}) — files cannot be sent on {platform}.")
    if media.size > caps.max_bytes:
        return Notice(
            f"📎 {media.name} is {_size(media.size)}, too large to send on {platform} "
            f"(its limit is {_size(caps.max_bytes)})."
        )
    media_type = media.media_type.split(";")[0].strip().lower()
    for kind in _ORDER:
        if kind is SendAs.VOICE and not media.as_voice:
            continue
        accepted = caps.kinds.get(kind)
        if accepted is not None and media_type in accepted[0] and media.size <= accepted[1]:
            return Upload(kind)
    return Upload(SendAs.DOCUMENT)


def _size(size: int) -> str:
    return f"{size / MB:.1f} MB" if size >= MB // 10 else f"{max(1, round(size / 1024))} KB"
