"""Block streaming: an answer cut into blocks for delivery while the turn goes on (OpenClaw's
`blockStreamingChunk`, min 800 / max 1200 characters). Pure.

Blocks end at a paragraph break when one falls inside the window, else at a line break, else at a word
boundary, else at the maximum; joined, the blocks are the answer.
"""

from __future__ import annotations

MIN_CHARS = 800
MAX_CHARS = 1200


def _cut(text: str, lo: int, hi: int) -> int:
    window = text[:hi]
    for separator in ("\n\n", "\n", " "):
        at = window.rfind(separator, lo)
        if at != -1:
            return at + len(separator)
    return hi


def split_blocks(text: str, min_chars: int = MIN_CHARS, max_chars: int = MAX_CHARS) -> list[str]:
    """Cut `text` into blocks of at most `max_chars` (at least `min_chars` where a natural break allows)."""
    if max_chars < 1 or min_chars > max_chars:
        raise ValueError("need 1 <= max_chars and min_chars <= max_chars")
    blocks: list[str] = []
    rest = text
    while len(rest) > max_chars:
        at = _cut(rest, min_chars, max_chars)
        blocks.append(rest[:at])
        rest = rest[at:]
    if rest:
        blocks.append(rest)
    return blocks
