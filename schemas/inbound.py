"""The inbound event: one thing that happened, on its way to the agent.

Ingress (webhooks, the relay, WebChat) and the scheduler (heartbeat, cron) produce it onto the inbound
FIFO queue, grouped by `session_key`; the dispatcher consumes it. Attachments travel by reference (an S3
key), never inline.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from clawbus.schemas._base import WireModel
from clawbus.schemas._versioning import read_versioned
from clawbus.schemas.session_key import PeerKind


class EventKind(StrEnum):
    """What started the turn: a user's message, the heartbeat, a cron job, or a system note."""

    MESSAGE = "message"
    HEARTBEAT = "heartbeat"
    CRON = "cron"
    SYSTEM = "system"


class Access(StrEnum):
    """How far ingress trusts the sender of a message: what its turn may do follows from it.

    Only `owner` and `allowed` senders move the agent's last route (where heartbeats and cron
    announcements go) and get the full tool set; `open` and `group` turns get the reduced set.
    """

    OWNER = "owner"  # the run's owner: WebChat or `clawbus say` holding the run's token
    ALLOWED = "allowed"  # a DM sender named in the channel's allowFrom, or approved through pairing
    OPEN = "open"  # a DM admitted only because the channel's DM policy is open to everyone
    GROUP = "group"  # a message in a group or channel that the group policy admits


class Peer(WireModel):
    """The chat a message came from: its kind and platform id."""

    kind: PeerKind
    id: str


class Sender(WireModel):
    """Who wrote the message (platform user id and a display name when the platform gives one)."""

    id: str
    name: str | None = None
    is_bot: bool = False


def human_size(size: int) -> str:
    """`48 KB`, `12.5 MB`: sizes as a user reads them (an attachment's, in replies)."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")


class AttachmentRef(WireModel):
    """A file the user sent, stored in the state bucket; the envelope carries only its key.

    Ingress fills `source` (the platform's reference: a Telegram file_id, a WhatsApp media id, a Slack
    `url_private`, a Discord CDN url, a WebChat upload) and leaves `key` empty with the platform's
    claimed `media_type` and `size`; the dispatcher fetches it before the turn, stores it and fills `key`
    with the sniffed type and the real size, or says in `refused` why it did not (over its size cap, gone
    from the platform). docs/channels/media.md.
    """

    key: str
    media_type: str
    size: int = Field(ge=0)
    name: str | None = None
    # Added compatibly (issue 20): absent on envelopes of older producers.
    kind: str | None = None  # image, document, audio, voice, video, sticker
    source: str | None = None  # the platform's reference, until fetched
    refused: str | None = None  # why the dispatcher did not store it (the user is told)

    @property
    def fetched(self) -> bool:
        """Whether the bytes are in the state bucket (`key`)."""
        return bool(self.key)


class ReplyTarget(WireModel):
    """Where a reply goes on the platform: a chat, optionally a thread and a message to reply to."""

    chat_id: str
    thread_id: str | None = None
    reply_to_message_id: str | None = None


class Handoff(WireModel):
    """Where the answer to a scheduled event (heartbeat, cron) goes.

    `announce` sends it to `channel`/`to` when both are given, else to the agent's last route (the chat
    the user last spoke from, which the dispatcher remembers); `none` runs the turn without delivering.
    Events without a `delivery` are answered where they came from (messages) or announced to the last
    route (heartbeat, cron).
    """

    mode: Literal["announce", "none"] = "announce"
    channel: str | None = None
    account_id: str | None = None
    to: str | None = None
    thread_id: str | None = None


class InboundEventV1(WireModel):
    """Version 1 of the inbound envelope.

    `event_id` is unique per platform event and namespaced by channel (`telegram:<bot>:<update_id>`,
    `webchat:<uuid>`); it is the SQS deduplication id and the idempotency key of the turn.
    """

    schema_version: Literal[1] = 1
    event_id: str = Field(min_length=1, max_length=512)
    kind: EventKind = EventKind.MESSAGE
    channel: str = Field(min_length=1, max_length=64)
    account_id: str = "default"
    agent_id: str = "main"
    session_key: str = Field(min_length=1, max_length=1024)
    peer: Peer | None = None
    sender: Sender | None = None
    text: str = ""
    attachments: tuple[AttachmentRef, ...] = ()
    reply_to: ReplyTarget | None = None
    received_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    # Scheduled events only (added compatibly: absent on messages).
    job_id: str | None = None
    delivery: Handoff | None = None
    # Messages only (added compatibly): why ingress admitted the sender. Absent on a message means an
    # older producer, trusted least (see `trusted`).
    access: Access | None = None
    # Added compatibly: the control command (`schemas/control.py`) this copy of a message carries on the
    # session's control lane; absent on the ordinary (FIFO) lane.
    control: str | None = None
    # Added compatibly (issue 23): a thread's or forum topic's parent conversation (OpenClaw's
    # `parentSessionKey`), kept on the thread's session entry.
    parent_session_key: str | None = Field(default=None, max_length=1024)
    # Added compatibly: the message addressed the bot (a DM, an @-mention, a reply to one of its
    # messages, a slash command), as ingress's gate saw it. A failed turn's error reply goes only to a
    # conversation that addressed the bot (`dispatcher/core/failure_notice.py`); absent (an older
    # producer) counts as addressed only in a DM.
    addressed: bool | None = None


InboundEvent = InboundEventV1
INBOUND_READERS: dict[int, type[InboundEventV1]] = {1: InboundEventV1}


def trusted(event: InboundEventV1) -> bool:
    """Whether `event` may act with the owner's authority (full tools, moving the last route).

    Scheduled events (heartbeat, cron, system) come from the owner's own schedules; a message is trusted
    when its sender is the owner or an allowed (allowlisted or paired) DM sender. Everything else, a
    message without `access` included, is not.
    """
    if event.kind is not EventKind.MESSAGE:
        return True
    return event.access in (Access.OWNER, Access.ALLOWED)


def parse_inbound(text: str | bytes) -> InboundEvent:
    """Read an inbound envelope of any known version.

    Raises:
        UnsupportedSchemaVersion: a version this build does not know (dead-letter it, do not guess).
        EnvelopeError: not a valid envelope.
    """
    return read_versioned(text, INBOUND_READERS, "inbound")
