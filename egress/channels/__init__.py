"""One sender per channel: turns a reply envelope into that platform's API calls.

WebChat stores replies in a table; the chat platforms are `PlatformClient`s behind the shared
`ChunkedSender` (split, pace, send once, record).
"""

from __future__ import annotations

from .discord import DiscordClient, open_discord
from .slack import SlackClient, open_slack
from .telegram import TelegramClient, open_telegram
from .webchat import WebchatSender
from .whatsapp import ConversationWindowClosed, WhatsappClient, open_whatsapp

__all__ = [
    "ConversationWindowClosed",
    "DiscordClient",
    "SlackClient",
    "TelegramClient",
    "WebchatSender",
    "WhatsappClient",
    "open_discord",
    "open_slack",
    "open_telegram",
    "open_whatsapp",
]
