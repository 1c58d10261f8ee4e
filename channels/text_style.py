"""Render the agent's markdown in a platform's own text style (each channel's `Profile.style`).

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

import re
from collections.abc import Callable
from dataclasses import dataclass

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

_Wrap = tuple[str, str]


def _fence(info: str, code: str) -> str:
    del info  # most dialects have no language tag
    return f"```\n{code}\n```"


def _keep(code: str, written: str) -> str:
    del code
    return written


@dataclass(frozen=True)
class TextStyle:
    """One platform's text format: how plain text is escaped, emphasis wrapped, links written, and code
    spans (`code_span(code, as_written)`) and fenced blocks (`block(info, code)`) shown. A `verbatim`
    style passes markdown through untouched (Discord renders it natively)."""

    escape: Callable[[str], str] = str
    bold: _Wrap = ("*", "*")
    italic: _Wrap = ("_", "_")
    strike: _Wrap = ("~", "~")
    link: Callable[[str, str], str] = lambda label, url: f"{label} ({url})"
    code_span: Callable[[str, str], str] = _keep
    block: Callable[[str, str], str] = _fence
    verbatim: bool = False


VERBATIM = TextStyle(verbatim=True)


def _inline(text: str, style: TextStyle) -> str:
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


def _prose(text: str, style: TextStyle) -> str:
    """Prose with inline code spans kept as the style shows them."""
    out: list[str] = []
    position = 0
    for match in _INLINE_CODE.finditer(text):
        out.append(_inline(text[position : match.start()], style))
        out.append(style.code_span(match.group(2), match.group(0)))
        position = match.end()
    out.append(_inline(text[position:], style))
    return "".join(out)


def render(markdown: str, style: TextStyle) -> str:
    """`markdown` in `style`; total (never raises), deterministic, and safe on any fragment."""
    if style.verbatim:
        return markdown
    out: list[str] = []
    position = 0
    for match in _FENCED.finditer(markdown):
        out.append(_prose(markdown[position : match.start()], style))
        out.append(style.block(match.group(2).strip(), match.group(3)))
        position = match.end()
    out.append(_prose(markdown[position:], style))
    return "".join(out)
