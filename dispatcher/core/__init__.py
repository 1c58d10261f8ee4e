"""The dispatcher's pure logic: building a turn's request and its reply envelopes."""

from __future__ import annotations

from .queue_mode import Pending, TurnPlan, plan_turns
from .turns import (
    Route,
    block_reply,
    build_reply,
    build_request,
    destination,
    is_scheduled,
    needs_last_route,
    reply_target,
    route_of,
    typing_signal,
)

__all__ = [
    "Pending",
    "Route",
    "TurnPlan",
    "block_reply",
    "build_reply",
    "build_request",
    "destination",
    "is_scheduled",
    "needs_last_route",
    "plan_turns",
    "reply_target",
    "route_of",
    "typing_signal",
]
