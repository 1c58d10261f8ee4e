"""Render the agent's markdown in each platform's own dialect.

The agent writes CommonMark-ish markdown. Platforms differ:

- Telegram: HTML parse mode (`<b> <i> <s> <code> <pre> <a href>`); `&`, `<`, `>` escaped everywhere,
  `"` too inside attributes (core.telegram.org/bots/api#html-style).
- Slack: mrkdwn (`*bold*`, `_italic_`, `~strike~`, `<url|label>`); `&`, `<`, `>` escaped
  (api.slack.com/reference/surfaces/formatting#escaping).
- Discord: markdown as written (Discord renders it natively).
- WhatsApp: `*bold*`, `_italic_`, `~strike~`, ```` ``` ```` blocks; links as `label (url)`.

Code (fenced or inline) is never reformatted, only escaped where the dialect needs it. Emphasis that is
not closed within a piece of text stays literal, so rendering a chunk on its own is always safe.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from enum import StrEnum


class Dialect(StrEnum):
    """A platform's text format."""

    TELEGRAM_HTML = "telegram_html"
    SLACK_MRKDWN = "slack_mrkdwn"
    DISCORD = "discord"
    WHATSAPP = "whatsapp"
    PLAIN = "plain"


_FENCED = re.compile(r"^ {0,3}(`{3,}|~{3,})([^\n`]*)\n(.*?)(?:\n {0,3}\1[ \t]*(?=\n|$)|\Z)", re.M | re.S)
_INLINE_CODE = re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)
_EMPHASIS = re.compile(
    r"\*\*(?P<b>\S(?:.*?\S)?)\*\*"
    r"|__(?P<b2>\S(?:.*?\S)?)__"
    r"|~~(?P<s>\S(?:.*?\S)?)~~"
    r"|\[(?P<label>[^\]\n]+)\]\((?P<url>[^)\s]+)\)"
    r"|(?<![\w*])\*(?P<i>[^\s*](?:[^*\n]*?[^\s*])?)\*(?![\w*])"
    r"|(?<![\w_])_(?P<i2>[^\s_](?:[^_\n]*?[^\s_])?)_(?![\w_])",
    re.S,
)

# (bold, italic, strike) wrappers and a link writer per dialect; escape applies to plain text.
_Wrap = tuple[str, str]


class _Style:
    def __init__(
        self,
        escape: Callable[[str], str],
        bold: _Wrap,
        italic: _Wrap,
        strike: _Wrap,
        link: Callable[[str, str], str],
    ) -> None:
        self.escape = escape
        self.bold = bold
        self.italic = italic
        self.strike = strike
        self.link = link


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _html(text: str) -> str:
    return html.escape(text, quote=False)


_STYLES: dict[Dialect, _Style] = {
    Dialect.TELEGRAM_HTML: _Style(
        _html,
        ("<b>", "</b>"),
        ("<i>", "</i>"),
        ("<s>", "</s>"),
        lambda label, url: f'<a href="{html.escape(url, quote=True)}">{label}</a>',
    ),
    Dialect.SLACK_MRKDWN: _Style(
        _slack_escape,
        ("*", "*"),
        ("_", "_"),
        ("~", "~"),
        lambda label, url: f"<{_slack_escape(url)}|{label}>",
    ),
    Dialect.WHATSAPP: _Style(str, ("*", "*"), ("_", "_"), ("~", "~"), lambda label, url: f"{label} ({url})"),
}


def _inline(text: str, style: _Style) -> str:
    """Emphasis and links in prose without code."""
    out: list[str] = []
    position = 0
    for match in _EMPHASIS.finditer(text):
        out.append(style.escape(text[position : match.start()]))
        position = match.end()
        groups = match.groupdict()
        if groups["url"] is not None:
            out.append(style.link(_inline(groups["label"], style), groups["url"]))
            continue
        for key, wrap in (("b", style.bold), ("b2", style.bold), ("s", style.strike)):
            if groups[key] is not None:
                out.append(wrap[0] + _inline(groups[key], style) + wrap[1])
                break
        else:
            inner = groups["i"] if groups["i"] is not None else groups["i2"]
            out.append(style.italic[0] + _inline(inner, style) + style.italic[1])
    out.append(style.escape(text[position:]))
    return "".join(out)


def _prose(text: str, dialect: Dialect, style: _Style) -> str:
    """Prose with inline code spans kept verbatim (escaped for HTML)."""
    out: list[str] = []
    position = 0
    for match in _INLINE_CODE.finditer(text):
        out.append(_inline(text[position : match.start()], style))
        code = match.group(2)
        out.append(f"<code>{_html(code)}</code>" if dialect is Dialect.TELEGRAM_HTML else match.group(0))
        position = match.end()
    out.append(_inline(text[position:], style))
    return "".join(out)


def _block(match: re.Match[str], dialect: Dialect) -> str:
    info, code = match.group(2).strip(), match.group(3)
    if dialect is Dialect.TELEGRAM_HTML:
        language = f' class="language-{html.escape(info.split()[0], quote=True)}"' if info else ""
        return f"<pre><code{language}>{_html(code)}</code></pre>"
    if dialect is Dialect.SLACK_MRKDWN:
        return f"```\n{_slack_escape(code)}\n```"  # mrkdwn has no language tag
    return f"```\n{code}\n```"


def render(markdown: str, dialect: Dialect) -> str:
    """`markdown` in `dialect`; total (never raises), deterministic, and safe on any fragment."""
    if dialect in (Dialect.DISCORD, Dialect.PLAIN):
        return markdown
    style = _STYLES[dialect]
    out: list[str] = []
    position = 0
    for match in _FENCED.finditer(markdown):
        out.append(_prose(markdown[position : match.start()], dialect, style))
        out.append(_block(match, dialect))
        position = match.end()
    out.append(_prose(markdown[position:], dialect, style))
    return "".join(out)
