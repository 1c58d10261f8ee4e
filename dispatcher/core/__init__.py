"""The dispatcher's pure logic: building a turn's request and its reply envelopes."""

from __future__ import annotations

from .queue_mode import Pending, TurnPlan, plan_turns
from .turns import block_reply, build_reply, build_request, reply_target, typing_signal

__all__ = [
    "Pending",
    "TurnPlan",
    "block_reply",
    "build_reply",
    "build_request",
    "plan_turns",
    "reply_target",
    "typing_signal",
]
