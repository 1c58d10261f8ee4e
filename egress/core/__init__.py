"""Egress's pure logic: split a reply under a platform's limit, render its markdown, plan the pacing."""

from __future__ import annotations

from clawbus.egress.core.chunking import Chunk, split_markdown
from clawbus.egress.core.formatting import Dialect, render
from clawbus.egress.core.profiles import DISCORD, PROFILES, SLACK, TELEGRAM, WHATSAPP, Profile, messages
from clawbus.egress.core.rate_plan import Limit, RatePlan

__all__ = [
    "DISCORD",
    "PROFILES",
    "SLACK",
    "TELEGRAM",
    "WHATSAPP",
    "Chunk",
    "Dialect",
    "Limit",
    "Profile",
    "RatePlan",
    "messages",
    "render",
    "split_markdown",
]
