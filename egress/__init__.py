"""Egress: one worker per channel consumes that channel's FIFO queue (fed by the outbound SNS topic
through a filter on the `channel` attribute) and delivers each reply through the platform's API, once
and in order per session.
"""

from __future__ import annotations

from clawbus.egress.reply_handler import ChannelSender, EgressHandler

__all__ = ["ChannelSender", "EgressHandler"]
