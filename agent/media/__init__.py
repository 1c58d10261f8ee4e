"""The files a user sent, made ready for the model before the turn (issue 20, docs/channels/media.md).

The dispatcher stored each file in the state bucket (`AttachmentRef.key`); here each becomes a `Media`
block of the user's message: an image keeps its bytes (the model gets an image block), a PDF or text
file becomes its text (`documents.py`, pypdf), a voice note or audio file its transcript
(`transcribe.py`: pocketsphinx offline, Amazon Transcribe in AWS), anything else is named. `describe`
(`agent/models/media_text.py`) is how a file is named to a person or a model that cannot see it.
"""

from __future__ import annotations

from clawbus.agent.media.attach import MediaReader, refusal_parts, user_message
from clawbus.agent.media.transcribe import Transcriber
from clawbus.agent.models.media_text import chat_content, describe, media_text

__all__ = [
    "MediaReader",
    "Transcriber",
    "chat_content",
    "describe",
    "media_text",
    "refusal_parts",
    "user_message",
]
