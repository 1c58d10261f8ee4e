"""The outbound reply: what the agent said, on its way to one channel.

The dispatcher publishes it to the outbound SNS FIFO topic with the `channel` message attribute; each
channel's egress queue receives only its own. A reply is ordered `parts` (chunks the agent streamed or
produced); `final` marks the last message of a turn. `kind=typing` is a presence signal with no parts.
`media` are files the agent attached (`ReplyMedia`: a key in the state bucket, never the bytes); egress
sends them after the text parts of the same reply, in order.

`kind=progress` is a turn's progress draft ("working…", tool lines; one part), shown as one message that
egress edits in place; `draft` names the turn whose draft it is, and on a turn's first answer message that
the draft is to be edited into that answer (issue 21).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from clawbus.schemas._base import WireModel
from clawbus.schemas._versioning import read_versioned
from clawbus.schemas.inbound import ReplyTarget


class ReplyKind(StrEnum):
    """A message to show, a typing indicator to switch on, or a progress draft to show or edit."""

    MESSAGE = "message"
    TYPING = "typing"
    PROGRESS = "progress"


class ReplyPart(WireModel):
    """One ordered piece of a reply (egress may split it further to fit the platform)."""

    index: int = Field(ge=0)
    text: str


class ReplyMedia(WireModel):
    """A file the agent sends with its reply: stored in the state bucket, the envelope carries only its key.

    `key` is relative to the bucket root (`media/<session ref>/<sha256>`, content-addressed, so a re-run
    turn refers to the same object); `media_type` was checked when it was stored; `caption` is shown with
    the file where the platform has captions; `as_voice` asks for an audio file to go out as a voice note
    (OpenClaw's `[[audio_as_voice]]` reply tag; audio goes as an audio file otherwise).
    """

    key: str = Field(min_length=1, max_length=1024)
    media_type: str = Field(min_length=1, max_length=255)
    size: int = Field(ge=0)
    name: str = Field(min_length=1, max_length=255)
    caption: str = ""
    as_voice: bool = False


class OutboundReplyV1(WireModel):
    """Version 1 of the outbound envelope.

    `reply_id` is stable for a turn (derived from the events it consumed), so a retried turn publishes the
    same id and egress can refuse to send it twice. `created_at` is stable too: the time the answered
    message was received (plus the block's index in microseconds when streamed), so a re-run turn's
    reply sorts and deduplicates exactly like the first run's.
    """

    schema_version: Literal[1] = 1
    reply_id: str = Field(min_length=1, max_length=128)
    in_reply_to: tuple[str, ...] = ()
    kind: ReplyKind = ReplyKind.MESSAGE
    session_key: str = Field(min_length=1, max_length=1024)
    channel: str = Field(min_length=1, max_length=64)
    account_id: str = "default"
    target: ReplyTarget
    parts: tuple[ReplyPart, ...] = ()
    final: bool = True
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    media: tuple[ReplyMedia, ...] = ()
    # The turn (its reply id) whose progress draft this progress message updates, or this answer's first
    # chunk replaces by an edit; None: no draft (sent as before drafts existed).
    draft: str | None = Field(default=None, max_length=128)

    @property
    def text(self) -> str:
        """The parts joined in order."""
        return "".join(part.text for part in sorted(self.parts, key=lambda p: p.index))


OutboundReply = OutboundReplyV1
OUTBOUND_READERS: dict[int, type[OutboundReplyV1]] = {1: OutboundReplyV1}


def parse_outbound(text: str | bytes) -> OutboundReply:
    """Read an outbound envelope of any known version.

    Raises:
        UnsupportedSchemaVersion: a version this build does not know.
        EnvelopeError: not a valid envelope.
    """
    return read_versioned(text, OUTBOUND_READERS, "outbound")
