"""WhatsApp's limits as egress sees them (one message a second per user, Cloud API media caps), without
pywa: the channel registry reads this in every stage; the SDK loads only where a client is opened
(`outbound.py`)."""

from __future__ import annotations

from clawbus.channels.contracts import MB, MediaCaps, Profile, SendAs, per_chat
from clawbus.channels.text_style import TextStyle

# `*bold*`, `_italic_`, `~strike~`, ``` blocks; links as `label (url)`; paced one message a second per user.
# Cloud API media (developers.facebook.com/docs/whatsapp/cloud-api/reference/media#supported-media-types):
# images JPEG/PNG up to 5 MB, audio up to 16 MB (OGG/Opus goes as a voice note), MP4/3GPP video up to
# 16 MB, documents up to 100 MB.
_AUDIO = frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg", "audio/opus"})
MEDIA = MediaCaps(
    100 * MB,
    {
        SendAs.PHOTO: (frozenset({"image/jpeg", "image/png"}), 5 * MB),
        SendAs.VOICE: (frozenset({"audio/ogg", "audio/opus"}), 16 * MB),
        SendAs.AUDIO: (_AUDIO, 16 * MB),
        SendAs.VIDEO: (frozenset({"video/mp4", "video/3gpp"}), 16 * MB),
    },
)
PROFILE = Profile("whatsapp", 4096, TextStyle(), per_chat(1, 1.0), media=MEDIA)
