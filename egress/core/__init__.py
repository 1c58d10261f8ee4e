"""Egress's pure logic: split a reply under a platform's limit, render its markdown, plan the pacing."""

from __future__ import annotations

from clawbus.channels.contracts import Limit, Profile
from clawbus.channels.text_style import render
from clawbus.egress.core.chunk_modes import ChunkMode, split_reply
from clawbus.egress.core.chunking import Chunk, split_markdown
from clawbus.egress.core.profiles import messages
from clawbus.egress.core.rate_plan import RatePlan

__all__ = [
    "Chunk",
    "ChunkMode",
    "Limit",
    "Profile",
    "RatePlan",
    "messages",
    "render",
    "split_markdown",
    "split_reply",
]
