"""WebChat messages, normalised into inbound events. Pure.

The WebChat page (and `clawbus say`) posts `{conversation, text, client_message_id?, attachments?}`
(`attachments`: `[{upload, name}]`, files uploaded first; `media.py`). The conversation id
is the peer; the client's message id makes a retried POST the same event (the same dedup id), so a
browser that resends after a timeout does not start a second turn. Ingress normalises only messages that
carried the run's WebChat token, so every one is the owner's (`Access.OWNER`).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from clawbus.channels.webchat.media import attachments
from clawbus.schemas import (
    Access,
    DmScope,
    InboundEvent,
    Peer,
    PeerKind,
    ReplyTarget,
    Sender,
    derive_session_key,
)

CHANNEL = "webchat"
MAX_TEXT = 16_000


class WebchatUpload(BaseModel):
    """A file the message carries: the id `POST /webchat/api/uploads` answered, and its name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    upload: str = Field(pattern=r"^[0-9a-f]{64}$")
    name: str | None = Field(default=None, max_length=255)


class WebchatMessageIn(BaseModel):
    """What the WebChat page posts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    conversation: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    text: str = Field(default="", max_length=MAX_TEXT)
    client_message_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    # Files uploaded first (`POST /webchat/api/uploads`), named by the upload id it answered (issue 20).
    attachments: tuple[WebchatUpload, ...] = Field(default=(), max_length=8)

    @model_validator(mode="after")
    def _says_something(self) -> WebchatMessageIn:
        if not self.text and not self.attachments:
            raise ValueError("a message needs text or an attachment")
        return self


def normalise(message: WebchatMessageIn, *, agent_id: str, dm_scope: DmScope, now: datetime) -> InboundEvent:
    """The inbound event for a WebChat message (a direct chat with the conversation as the peer), from
    the owner: call it only for a request that carried the run's token."""
    client_id = message.client_message_id or uuid.uuid4().hex
    session_key = derive_session_key(
        agent_id=agent_id,
        channel=CHANNEL,
        peer_kind=PeerKind.DIRECT,
        peer_id=message.conversation,
        dm_scope=dm_scope,
    )
    return InboundEvent(
        event_id=f"{CHANNEL}:{message.conversation}:{client_id}",
        channel=CHANNEL,
        agent_id=agent_id,
        session_key=session_key,
        peer=Peer(kind=PeerKind.DIRECT, id=message.conversation),
        sender=Sender(id=message.conversation),
        text=message.text,
        attachments=attachments([(a.upload, a.name) for a in message.attachments]),
        reply_to=ReplyTarget(chat_id=message.conversation),
        received_at=now,
        access=Access.OWNER,
    )
