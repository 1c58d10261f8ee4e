"""Discord's limits as egress sees them (markdown as written, 5 messages per 5 s per channel, 50 a second
per bot, 10 MiB uploads), without an HTTP client: the channel registry reads this in every stage."""

from __future__ import annotations

from clawbus.channels.contracts import MB, Limit, MediaCaps, Profile, per_chat
from clawbus.channels.text_style import VERBATIM

# Discord renders markdown itself; 5 messages per 5 seconds per channel, 50 a second per bot.
PROFILE = Profile("discord", 2000, VERBATIM, per_chat(5, 5.0, Limit(50, 1.0)), media=MediaCaps(10 * MB))
