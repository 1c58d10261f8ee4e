"""A turn, from inbound events to the agent's request and from its response to reply envelopes. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from clawbus.schemas import (
    AgentRequest,
    AgentResponse,
    EventKind,
    InboundEvent,
    OutboundReply,
    ReplyKind,
    ReplyMedia,
    ReplyPart,
    ReplyTarget,
    reply_id,
)


def build_request(events: Sequence[InboundEvent], recorded_as: str | None = None) -> AgentRequest:
    """The invocation body for a turn consuming `events` (one session, arrival order).

    Its reply id derives from the events, or is `recorded_as`: the id an earlier run of the same turn
    recorded as its intent (kept even when only part of that turn's messages came back).
    """
    if not events:
        raise ValueError("a turn consumes at least one event")
    return AgentRequest(
        session_key=events[0].session_key,
        reply_id=recorded_as or reply_id(e.event_id for e in events),
        events=tuple(events),
    )


def reply_target(event: InboundEvent) -> ReplyTarget:
    """Where the answer to `event` goes: its reply target, else its peer's chat."""
    if event.reply_to is not None:
        return event.reply_to
    chat = event.peer.id if event.peer is not None else event.session_key
    return ReplyTarget(chat_id=chat)


@dataclass(frozen=True)
class Route:
    """Where a reply goes: a channel, its account and the chat (the agent's last route, or a delivery)."""

    channel: str
    account_id: str
    target: ReplyTarget


def is_scheduled(event: InboundEvent) -> bool:
    """Whether the event came from a schedule (heartbeat, cron) rather than a person."""
    return event.kind in (EventKind.HEARTBEAT, EventKind.CRON)


def needs_last_route(event: InboundEvent) -> bool:
    """Whether answering `event` needs the agent's last route (a scheduled event without a target)."""
    delivery = event.delivery
    if not is_scheduled(event) or (delivery is not None and delivery.mode == "none"):
        return False
    return delivery is None or not (delivery.channel and delivery.to)


def destination(event: InboundEvent, last_route: Route | None) -> Route | None:
    """Where the answer to `event` goes; None means it is not delivered.

    A message is answered where it came from. A scheduled event goes to its explicit delivery target
    (`channel` + `to`), else to the agent's last route (None when no trusted DM ever set one: nowhere to
    go), and nowhere when its delivery mode is `none`.
    """
    if not is_scheduled(event):
        return Route(event.channel, event.account_id, reply_target(event))
    delivery = event.delivery
    if delivery is not None and delivery.mode == "none":
        return None
    if delivery is not None and delivery.channel and delivery.to:
        target = ReplyTarget(chat_id=delivery.to, thread_id=delivery.thread_id)
        return Route(delivery.channel, delivery.account_id or "default", target)
    return last_route


def build_reply(
    request: AgentRequest, response: AgentResponse, route: Route | None = None
) -> OutboundReply | None:
    """The reply envelope for a finished turn (its text parts, then the files the agent stored, by
    reference), or None when the agent chose silence (no parts, no files).

    The reply goes to `route` when given, else back where the turn's last event came from, with the
    turn's stable `reply_id` and a stable `created_at` (when that event was received), so a re-run
    turn's reply is the same envelope.
    """
    parts = tuple(ReplyPart(index=i, text=text) for i, text in enumerate(response.parts) if text)
    if not parts and not response.media:
        return None
    last = request.events[-1]
    route = route or Route(last.channel, last.account_id, reply_target(last))
    return OutboundReply(
        reply_id=request.reply_id,
        in_reply_to=tuple(e.event_id for e in request.events),
        session_key=request.session_key,
        channel=route.channel,
        account_id=route.account_id,
        target=route.target,
        parts=parts,
        final=True,
        created_at=last.received_at,
        media=response.media,
    )


def block_reply(
    request: AgentRequest,
    text: str,
    index: int,
    route: Route | None = None,
    media: tuple[ReplyMedia, ...] = (),
) -> OutboundReply:
    """One streamed block of a turn's answer, published as it arrives (`<reply_id>-b<index>`, in order);
    the turn's files, when it attached any, follow as a last block of their own (`media`, no text)."""
    last = request.events[-1]
    route = route or Route(last.channel, last.account_id, reply_target(last))
    return OutboundReply(
        reply_id=f"{request.reply_id}-b{index}",
        in_reply_to=tuple(e.event_id for e in request.events),
        session_key=request.session_key,
        channel=route.channel,
        account_id=route.account_id,
        target=route.target,
        parts=(ReplyPart(index=0, text=text),) if text else (),
        final=False,
        created_at=last.received_at + timedelta(microseconds=index + 1),
        media=media,
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
