"""A turn, from inbound events to the agent's request and from its response to reply envelopes. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from clawbus.schemas import (
    AgentRequest,
    AgentResponse,
    InboundEvent,
    OutboundReply,
    ReplyKind,
    ReplyPart,
    ReplyTarget,
    reply_id,
)


def build_request(events: Sequence[InboundEvent]) -> AgentRequest:
    """The invocation body for a turn consuming `events` (one session, arrival order)."""
    if not events:
        raise ValueError("a turn consumes at least one event")
    return AgentRequest(
        session_key=events[0].session_key,
        reply_id=reply_id(e.event_id for e in events),
        events=tuple(events),
    )


def reply_target(event: InboundEvent) -> ReplyTarget:
    """Where the answer to `event` goes: its reply target, else its peer's chat."""
    if event.reply_to is not None:
        return event.reply_to
    chat = event.peer.id if event.peer is not None else event.session_key
    return ReplyTarget(chat_id=chat)


def build_reply(request: AgentRequest, response: AgentResponse, now: datetime) -> OutboundReply | None:
    """The reply envelope for a finished turn, or None when the agent chose silence (no parts).

    The reply goes back where the turn's last event came from, with the turn's stable `reply_id`.
    """
    parts = tuple(ReplyPart(index=i, text=text) for i, text in enumerate(response.parts) if text)
    if not parts:
        return None
    last = request.events[-1]
    return OutboundReply(
        reply_id=request.reply_id,
        in_reply_to=tuple(e.event_id for e in request.events),
        session_key=request.session_key,
        channel=last.channel,
        account_id=last.account_id,
        target=reply_target(last),
        parts=parts,
        final=True,
        created_at=now,
    )


def typing_signal(request: AgentRequest, now: datetime) -> OutboundReply:
    """A `typing` presence signal for the channel the turn will answer on."""
    last = request.events[-1]
    return OutboundReply(
        reply_id=request.reply_id,
        in_reply_to=tuple(e.event_id for e in request.events),
        kind=ReplyKind.TYPING,
        session_key=request.session_key,
        channel=last.channel,
        account_id=last.account_id,
        target=reply_target(last),
        final=False,
        created_at=now,
    )
