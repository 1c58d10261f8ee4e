"""One sender per channel: turns a reply envelope into that platform's API calls.

WebChat stores replies in a table; the chat platforms are `PlatformClient`s behind the shared
`ChunkedSender` (split, pace, send once, record).
"""

from __future__ import annotations

from clawbus.egress.channels.discord import DiscordClient, open_discord
from clawbus.egress.channels.slack import SlackClient, open_slack
from clawbus.egress.channels.telegram import TelegramClient, open_telegram
from clawbus.egress.channels.webchat import WebchatSender
from clawbus.egress.channels.whatsapp import ConversationWindowClosed, WhatsappClient, open_whatsapp

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
