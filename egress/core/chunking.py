"""Split a markdown reply into pieces that fit a platform's message limit.

Every platform caps one message (Telegram and WhatsApp 4096 characters, Discord 2000, Slack about 4000),
so a long reply goes out as several messages. A split lands on the last paragraph break in the window,
else the last line break, else the last space, else a hard cut; a break inside parentheses or an inline
code span (`markdown_spans.unbreakable`) is taken only when the window has no other, as OpenClaw's
length splitter avoids them. A split that falls inside a fenced code
block closes the fence at the end of the piece and reopens it (with its info string, e.g. ```` ```python ````)
at the start of the next, so every piece renders as balanced markdown.

Each `Chunk` keeps the text it carries (`body`) apart from the fence lines added around it, so the bodies
always join back to the input exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from clawbus.egress.core.markdown_spans import Span, inside, unbreakable

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
MIN_LIMIT = 32


@dataclass(frozen=True)
class Chunk:
    """One message-sized piece: `reopen` + `body` + `close`, where only `body` came from the input."""

    body: str
    reopen: str = ""
    close: str = ""

    @property
    def text(self) -> str:
        """What to send."""
        return self.reopen + self.body + self.close


@dataclass(frozen=True)
class _Fence:
    marker: str  # the run of backticks or tildes that opened it
    opening: str  # the whole opening line, reopened after a split


def _scan(text: str, fence: _Fence | None, mid_line: bool) -> _Fence | None:
    """The fence still open after `text`, given the one open before it (None: outside any fence).

    `mid_line`: `text` starts in the middle of a line (after a cut at a space), whose rest opens nothing.
    """
    lines = text.split("\n")
    for line in lines[1:] if mid_line else lines:
        match = _FENCE.match(line)
        if match is None:
            continue
        marker, rest = match.group(1), match.group(2)
        if fence is None:
            if not (marker[0] == "`" and "`" in rest):  # a backtick fence's info string has no backtick
                fence = _Fence(marker, line.strip())
        elif marker[0] == fence.marker[0] and len(marker) >= len(fence.marker) and not rest.strip():
            fence = None
    return fence


def _last(window: str, separator: str, offset: int, avoid: list[Span]) -> int:
    """The last `separator` in `window` that is not inside an `avoid` span (-1: none)."""
    position = window.rfind(separator)
    while position > 0 and inside(avoid, offset + position):
        position = window.rfind(separator, 0, position)
    return position


def _cut(window: str, offset: int = 0, avoid: list[Span] | None = None) -> int:
    """Where to end a piece inside `window` (at `offset` in the text): after a paragraph break, a line
    break, a space, or at the end; a separator inside an `avoid` span only when there is no other."""
    for skipped in (avoid, []) if avoid else ([],):
        for separator in ("\n\n", "\n", " "):
            position = _last(window, separator, offset, skipped)
            if position > 0:
                return position + len(separator)
    return len(window)


def _closing(body: str, fence: _Fence) -> str:
    return ("" if body.endswith("\n") else "\n") + fence.marker


def _reopening(fence: _Fence, limit: int) -> str:
    # A pathological info string could eat the whole budget: reopen with the bare marker then.
    opening = fence.opening if len(fence.opening) <= limit // 4 else fence.marker
    return opening + "\n"


def split_markdown(text: str, limit: int) -> list[Chunk]:
    """Split `text` into chunks whose `text` is at most `limit` characters.

    Guarantees: `"".join(c.body for c in chunks) == text`; every chunk's `text` fits `limit`; no chunk
    ends inside a code fence it opened or reopened (fences of absurd length, over `limit // 8`, are
    treated as text). Empty input gives no chunks.

    Raises:
        ValueError: `limit` below `MIN_LIMIT`.
    """
    if limit < MIN_LIMIT:
        raise ValueError(f"chunk limit {limit} is below the minimum {MIN_LIMIT}")
    chunks: list[Chunk] = []
    fence: _Fence | None = None
    mid_line = False
    rest = text
    avoid = unbreakable(text)
    while rest:
        reopen = _reopening(fence, limit) if fence else ""
        budget = limit - len(reopen)
        size = min(budget, len(rest))
        while True:
            offset = len(text) - len(rest)
            body = rest if size == len(rest) else rest[: _cut(rest[:size], offset, avoid)]
            after = _scan(body, fence, mid_line)
            if after is not None and len(after.marker) > limit // 8:
                after = None  # not worth keeping balanced: it would not fit anyway
            close = _closing(body, after) if after else ""
            if len(body) + len(close) <= budget or size <= 1:
                break
            size = max(1, min(size - 1, budget - len(close)))
        chunks.append(Chunk(body, reopen, close))
        rest = rest[len(body) :]
        fence = after
        mid_line = not body.endswith("\n")
    return chunks
