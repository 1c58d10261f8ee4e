"""One sender per channel: turns a reply envelope into that platform's API calls."""

from __future__ import annotations

from .webchat import WebchatSender

__all__ = ["WebchatSender"]
