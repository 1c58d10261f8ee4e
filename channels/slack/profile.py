"""Slack's limits as egress sees them (mrkdwn, one message a second per channel, `chat.update`'s Tier 3),
without slack_sdk: the channel registry reads this in every stage; the SDK loads only where a client is
opened (`outbound.py`)."""

from __future__ import annotations

from clawbus.channels.contracts import MB, Limit, MediaCaps, Profile, per_chat
from clawbus.channels.text_style import TextStyle


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# mrkdwn: `*bold*`, `_italic_`, `~strike~`, `<url|label>`; `&`, `<`, `>` escaped
# (api.slack.com/reference/surfaces/formatting#escaping); code blocks have no language tag.
SLACK_MRKDWN = TextStyle(
    escape=_escape,
    link=lambda label, url: f"<{_escape(url)}|{label}>",
    block=lambda _info, code: f"```\n{_escape(code)}\n```",
)
# About 1 message a second per channel; files up to 1 GB, all shared the same way (images preview);
# `chat.update` is Tier 3 (50+ a minute per workspace).
PROFILE = Profile(
    "slack", 4000, SLACK_MRKDWN, per_chat(1, 1.0), media=MediaCaps(1024 * MB), edits=Limit(50, 60.0)
)
