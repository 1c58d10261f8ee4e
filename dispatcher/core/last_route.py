"""Which messages move the agent's last route, and where a scheduled turn without a target goes. Pure.

The last route (OpenClaw's `deliveryContext`/`lastChannel`/`lastTo`) is where heartbeats and cron
announcements go, so it carries the owner's private output: it moves only on a direct message from a
trusted sender (`schemas.trusted`: the owner, an allowlisted or a paired sender) on an external channel.
Never on a group or channel message (anyone there would read the owner's reminders), an open or unpaired
DM (a stranger saying hello would), or WebChat: like OpenClaw, WebChat answers its own conversation but
"does not become a reusable outbound channel and never inherits lastChannel" (docs/web/webchat.md).

The route is kept on the session entries (storage/sessions.py): the event's own session and the
agent's main session (`agent:<id>:main`, where heartbeats run), so it is found under any `dmScope`. A
scheduled turn reads its own session's entry first, then the main one.
"""

from __future__ import annotations

from collections.abc import Sequence

from clawbus.channels.registry import all_channels
from clawbus.dispatcher.core.turns import Route, reply_target
from clawbus.schemas import EventKind, InboundEvent, PeerKind, ReplyTarget, main_session_key, trusted
from clawbus.schemas.session_key_parse import agent_of
from clawbus.storage import DeliveryContext, SessionEntry, trusted_route


def internal_channels() -> frozenset[str]:
    """Surfaces of the run itself, not chats of a platform (`ChannelSpec.internal`: WebChat): they
    answer in place and never become the route."""
    return frozenset(s.name for s in all_channels() if s.internal)


def moves_last_route(event: InboundEvent) -> Route | None:
    """The route `event` makes the agent's last route, or None when it must not move it (see module)."""
    if event.kind is not EventKind.MESSAGE or not trusted(event):
        return None
    if event.peer is None or event.peer.kind is not PeerKind.DIRECT or event.channel in internal_channels():
        return None
    target = reply_target(event)  # the chat and thread; a reply-to message id is not part of a route
    return Route(
        event.channel, event.account_id, ReplyTarget(chat_id=target.chat_id, thread_id=target.thread_id)
    )


def turn_moves_last_route(events: Sequence[InboundEvent]) -> Route | None:
    """The route a turn consuming `events` leaves behind: that of its latest event that moves it."""
    moved = (moves_last_route(event) for event in reversed(events))
    return next((route for route in moved if route is not None), None)


def route_sessions(event: InboundEvent) -> tuple[str, ...]:
    """The session keys whose entries hold the route `event` moves, or that a scheduled `event` reads,
    in reading order: its own session, then the agent's main session (once when they are the same)."""
    main = main_session_key(agent_of(event.session_key) or event.agent_id)  # the key's agent owns it
    return (event.session_key,) if event.session_key == main else (event.session_key, main)


def as_delivery_context(route: Route) -> DeliveryContext:
    """A route as the session entry stores it (OpenClaw's `deliveryContext`)."""
    return DeliveryContext(
        channel=route.channel,
        to=route.target.chat_id,
        account_id=route.account_id,
        thread_id=route.target.thread_id,
    )


def stored_route(entries: Sequence[SessionEntry | None]) -> Route | None:
    """The first trusted route among `entries` (read in `route_sessions` order), or None: not delivered."""
    for entry in entries:
        found = trusted_route(entry)
        if found is not None and found.channel and found.to and found.channel not in internal_channels():
            target = ReplyTarget(chat_id=found.to, thread_id=found.thread_id)
            return Route(found.channel, found.account_id or "default", target)
    return None
