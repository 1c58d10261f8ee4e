"""Telegram's limits as egress sees them (HTML parse mode, per-chat and per-group windows, upload caps),
without python-telegram-bot: the channel registry reads this in every stage; the SDK loads only where a
client is opened (`outbound.py`)."""

from __future__ import annotations

import html

from clawbus.channels.contracts import MB, Limit, MediaCaps, Profile, Scopes, SendAs, utf16_length
from clawbus.channels.text_style import TextStyle


def _html(text: str) -> str:
    return html.escape(text, quote=False)


def _html_block(info: str, code: str) -> str:
    language = f' class="language-{html.escape(info.split()[0], quote=True)}"' if info else ""
    return f"<pre><code{language}>{_html(code)}</code></pre>"


# HTML parse mode: `<b> <i> <s> <code> <pre> <a href>`; `&`, `<`, `>` escaped everywhere, `"` too inside
# attributes (core.telegram.org/bots/api#html-style).
TELEGRAM_HTML = TextStyle(
    escape=_html,
    bold=("<b>", "</b>"),
    italic=("<i>", "</i>"),
    strike=("<s>", "</s>"),
    link=lambda label, url: f'<a href="{html.escape(url, quote=True)}">{label}</a>',
    code_span=lambda code, _written: f"<code>{_html(code)}</code>",
    block=_html_block,
)


def _scopes(chat_id: str) -> Scopes:
    """About 1 message a second in one chat, 20 a minute in one group, about 30 a second overall."""
    scopes = [(f"chat:{chat_id}", Limit(1, 1.0)), ("bot", Limit(30, 1.0))]
    if chat_id.startswith("-"):  # groups, supergroups and channels have negative ids
        scopes.append((f"group:{chat_id}", Limit(20, 60.0)))
    return scopes


# Bot API uploads (core.telegram.org/bots/api#sending-files): photos up to 10 MB, other files up to
# 50 MB; a voice note is OGG/Opus (or MP3/M4A), `sendAudio` takes MP3/M4A, `sendVideo` MPEG-4.
MEDIA = MediaCaps(
    50 * MB,
    {
        SendAs.PHOTO: (frozenset({"image/jpeg", "image/png", "image/webp"}), 10 * MB),
        SendAs.VOICE: (frozenset({"audio/ogg", "audio/opus"}), 50 * MB),
        SendAs.AUDIO: (frozenset({"audio/mpeg", "audio/mp4", "audio/x-m4a"}), 50 * MB),
        SendAs.VIDEO: (frozenset({"video/mp4"}), 50 * MB),
    },
)
PROFILE = Profile("telegram", 4096, TELEGRAM_HTML, _scopes, utf16_length, MEDIA)
