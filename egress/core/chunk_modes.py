"""OpenClaw's two chunk modes (`channels.<ch>.streaming.chunkMode`): how a long reply becomes messages.

- `length` (the default): fill each message up to the limit, cutting at the last paragraph break, line
  break or space in the window (`chunking.split_markdown`), not inside parentheses or inline code when
  another break exists, fences closed and reopened.
- `newline`: paragraphs first (OpenClaw's `chunkMarkdownTextWithMode(..., "newline")`,
  src/auto-reply/chunk.ts). The reply is cut at blank lines only (a line break, optional blanks, one or
  more line breaks); whole paragraphs are packed into a message while they fit; a paragraph longer than
  the limit goes alone and only it is cut by length. A blank line inside a fenced code block is code,
  not a boundary, so a fence is never split while it fits in one message. A piece of a long paragraph
  never shares a message with the next paragraph, which `length` allows.

Both keep `split_markdown`'s guarantees: the bodies join back to the text, every message fits the limit.
Pure: text in, chunks out.
"""

from __future__ import annotations

import re
from enum import StrEnum

from clawbus.egress.core.chunking import MIN_LIMIT, Chunk, split_markdown
from clawbus.egress.core.markdown_spans import fenced_blocks, inside

_PARAGRAPH_BREAK = re.compile(r"\n(?:[\t ]*\n)+")


class ChunkMode(StrEnum):
    """OpenClaw's `chunkMode` values."""

    LENGTH = "length"
    NEWLINE = "newline"


def paragraphs(text: str) -> list[str]:
    """`text` cut after each paragraph break outside fenced code (each piece keeps its break)."""
    fences = fenced_blocks(text)
    pieces, start = [], 0
    for match in _PARAGRAPH_BREAK.finditer(text):
        if inside(fences, match.start()):
            continue
        pieces.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def split_paragraphs(text: str, limit: int) -> list[Chunk]:
    """`newline` mode: whole paragraphs packed up to `limit`; a longer paragraph alone, cut by length."""
    if limit < MIN_LIMIT:
        raise ValueError(f"chunk limit {limit} is below the minimum {MIN_LIMIT}")
    chunks: list[Chunk] = []
    pack = ""
    for piece in paragraphs(text):
        if pack and len(pack) + len(piece) <= limit:
            pack += piece
            continue
        if pack:
            chunks.extend(split_markdown(pack, limit))
        pack = piece
    if pack:
        chunks.extend(split_markdown(pack, limit))
    return chunks


def split_reply(text: str, limit: int, mode: ChunkMode = ChunkMode.LENGTH) -> list[Chunk]:
    """`text` as chunks of at most `limit` characters, in `mode` (ValueError below `MIN_LIMIT`)."""
    if mode is ChunkMode.NEWLINE:
        return split_paragraphs(text, limit)
    return split_markdown(text, limit)
