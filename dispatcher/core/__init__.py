"""The dispatcher's pure logic: planning turns, building a turn's request and its reply envelopes, and
deciding who moves the agent's last route."""

from __future__ import annotations

from clawbus.dispatcher.core.last_route import (
    as_delivery_context,
    moves_last_route,
    route_sessions,
    stored_route,
    turn_moves_last_route,
)
from clawbus.dispatcher.core.queue_mode import (
    Pending,
    RunPlan,
    needs_no_intent,
    pinned_alone,
    plan_turns,
    waits_in_place,
)
from clawbus.dispatcher.core.turns import (
    Route,
    block_reply,
    build_reply,
    build_request,
    destination,
    is_scheduled,
    needs_last_route,
    reply_target,
    typing_signal,
)

__all__ = [
    "Pending",
    "Route",
    "RunPlan",
    "as_delivery_context",
    "block_reply",
    "build_reply",
    "build_request",
    "destination",
    "is_scheduled",
    "moves_last_route",
    "needs_last_route",
    "needs_no_intent",
    "pinned_alone",
    "plan_turns",
    "reply_target",
    "route_sessions",
    "stored_route",
    "turn_moves_last_route",
    "typing_signal",
    "waits_in_place",
]
