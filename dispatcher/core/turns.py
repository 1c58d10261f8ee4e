"""A turn, from inbound events to the agent's request and from its response to reply envelopes. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

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


def build_reply(request: AgentRequest, response: AgentResponse) -> OutboundReply | None:
    """The reply envelope for a finished turn, or None when the agent chose silence (no parts).

    The reply goes back where the turn's last event came from, with the turn's stable `reply_id` and a
    stable `created_at` (when that event was received), so a re-run turn's reply is the same envelope.
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
        created_at=last.received_at,
    )


def block_reply(request: AgentRequest, text: str, index: int) -> OutboundReply:
    """One streamed block of a turn's answer, published as it arrives (`<reply_id>-b<index>`, in order)."""
    last = request.events[-1]
    return OutboundReply(
        reply_id=f"{request.reply_id}-b{index}",
        in_reply_to=tuple(e.event_id for e in request.events),
        session_key=request.session_key,
        channel=last.channel,
        account_id=last.account_id,
        target=reply_target(last),
        parts=(ReplyPart(index=0, text=text),),
        final=False,
        created_at=last.received_at + timedelta(microseconds=index + 1),
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
