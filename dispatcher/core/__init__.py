"""The dispatcher's pure logic: building a turn's request and its reply envelopes."""

from __future__ import annotations

from .turns import build_reply, build_request, reply_target

__all__ = ["build_reply", "build_request", "reply_target"]
