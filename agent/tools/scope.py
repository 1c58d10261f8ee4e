"""What a tool call knows about the turn it runs in: the session, whether the turn is trusted, its route.

Tools are built once per runtime, but some must act for the turn that calls them: the cron tool files a
job under the turn's agent and may deliver only to the turn's own conversation (or the owner's). The
turn sets `TURN_SCOPE` around its loop; `turn_scope` derives the value from the request. Pure, apart
from the context variable.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from clawbus.schemas import AgentRequest, EventKind, InboundEvent


@dataclass(frozen=True)
class Route:
    """A conversation a message can be delivered to: channel, account, chat and thread."""

    channel: str
    account_id: str
    chat_id: str
    thread_id: str | None = None

    def __str__(self) -> str:
        thread = f" (thread {self.thread_id})" if self.thread_id else ""
        return f"{self.channel}:{self.chat_id}{thread}"


@dataclass(frozen=True)
class TurnScope:
    """The turn a tool call belongs to.

    `route` is where the turn's answer goes: the conversation its (last) message came from, or a
    scheduled event's explicit delivery target; None when there is none (a heartbeat, a cron run
    announced to the last route).
    """

    session_key: str
    agent_id: str
    trusted: bool = False
    scheduled: bool = False
    route: Route | None = None


TURN_SCOPE: ContextVar[TurnScope | None] = ContextVar("clawbus_turn_scope", default=None)


def _route(event: InboundEvent) -> Route | None:
    if event.kind in (EventKind.HEARTBEAT, EventKind.CRON):
        delivery = event.delivery
        if delivery is None or delivery.mode == "none" or not (delivery.channel and delivery.to):
            return None
        return Route(delivery.channel, delivery.account_id or "default", delivery.to, delivery.thread_id)
    if event.reply_to is not None:
        return Route(event.channel, event.account_id, event.reply_to.chat_id, event.reply_to.thread_id)
    if event.peer is not None:
        return Route(event.channel, event.account_id, event.peer.id)
    return None


def turn_scope(request: AgentRequest, *, trusted: bool) -> TurnScope:
    """The scope of the turn `request` runs: its last event decides the route, as it does the reply's."""
    last = request.events[-1]
    return TurnScope(
        session_key=request.session_key,
        agent_id=last.agent_id,
        trusted=trusted,
        scheduled=last.kind in (EventKind.HEARTBEAT, EventKind.CRON),
        route=_route(last),
    )
