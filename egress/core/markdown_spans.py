"""Where a reply's markdown should not be cut: fenced code blocks, parentheses and inline code spans.

The splitters (`chunking.py`) ask two things of a reply, both answered here as sorted `(start, end)`
character spans of the whole text:

- `fenced_blocks`: each fenced code block, from its opening fence line to the end of its closing one (or
  to the end of the text when it never closes). A paragraph break inside one is code, not a boundary.
- `unbreakable`: outside fenced blocks, each outermost parenthesised group `( … )` and each inline code
  span (`` `x y` ``, ``` ``a ` b`` ```): a line break or space strictly inside one is a poor place to cut
  (OpenClaw's length splitter scans parentheses the same way, `scanParenAwareBreakpoints` in
  src/auto-reply/chunk.ts). Both are scoped to a paragraph, as CommonMark scopes inline code: an opening
  `(` or backtick run with no partner before the next blank line is plain text and protects nothing
  (upstream keeps counting an unclosed `(` to the end of the window, so one `:(` would push every later
  cut before it).

Pure: text in, offsets out.
"""

from __future__ import annotations

import re

Span = tuple[int, int]
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_TICKS = re.compile(r"`+")


def _lines(text: str) -> list[tuple[int, str]]:
    """Each line with the offset it starts at (line breaks not included)."""
    out, offset = [], 0
    for line in text.split("\n"):
        out.append((offset, line))
        offset += len(line) + 1
    return out


def fenced_blocks(text: str) -> list[Span]:
    """The fenced code blocks of `text` (a backtick fence's info string has no backtick, as CommonMark)."""
    spans: list[Span] = []
    opened: tuple[int, str] | None = None  # (start, marker)
    for offset, line in _lines(text):
        match = _FENCE.match(line)
        if match is None:
            continue
        marker, rest = match.group(1), match.group(2)
        if opened is None:
            if not (marker[0] == "`" and "`" in rest):
                opened = (offset, marker)
        elif marker[0] == opened[1][0] and len(marker) >= len(opened[1]) and not rest.strip():
            spans.append((opened[0], min(len(text), offset + len(line))))
            opened = None
    if opened is not None:
        spans.append((opened[0], len(text)))
    return spans


def _prose(text: str, fences: list[Span]) -> list[Span]:
    """The paragraphs outside fenced blocks: runs of non-blank lines, as spans."""
    paragraphs: list[Span] = []
    start: int | None = None
    end = 0
    for offset, line in _lines(text):
        inside = any(a <= offset < b for a, b in fences)
        if inside or not line.strip():
            if start is not None:
                paragraphs.append((start, end))
                start = None
            continue
        start = offset if start is None else start
        end = offset + len(line)
    if start is not None:
        paragraphs.append((start, end))
    return paragraphs


def _groups(text: str, start: int, end: int) -> list[Span]:
    """Closed parenthesised groups and inline code spans inside one paragraph."""
    spans: list[Span] = []
    opens: list[int] = []
    at = start
    while at < end:
        char = text[at]
        if char == "`":
            run = _TICKS.match(text, at, end)
            assert run is not None
            width = len(run.group())
            closer = next((m for m in _TICKS.finditer(text, run.end(), end) if len(m.group()) == width), None)
            if closer is None:
                at = run.end()  # an unmatched run is literal text
                continue
            spans.append((at, closer.end()))
            at = closer.end()
            continue
        if char == "(":
            opens.append(at)
        elif char == ")" and opens:
            spans.append((opens.pop(), at + 1))
        at += 1
    return spans


def unbreakable(text: str) -> list[Span]:
    """The outermost parenthesised groups and inline code spans outside fenced blocks, sorted."""
    found: list[Span] = []
    for start, end in _prose(text, fenced_blocks(text)):
        found.extend(_groups(text, start, end))
    found.sort()
    outermost: list[Span] = []
    for span in found:
        if outermost and span[0] < outermost[-1][1]:
            outermost[-1] = (outermost[-1][0], max(outermost[-1][1], span[1]))
        else:
            outermost.append(span)
    return outermost


def inside(spans: list[Span], index: int) -> bool:
    """Whether `index` lies strictly inside one of `spans` (a cut there splits it)."""
    return any(start < index < end for start, end in spans)
