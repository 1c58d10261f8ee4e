"""The messages a reply becomes on one platform, given its `Profile` (size, text style, length measure;
each channel's `outbound.profile`).

`messages(text, profile)` is the whole pure pipeline for one reply: split the markdown under the limit
in the channel's chunk mode (`chunk_modes`: `length` or `newline`; fences kept balanced), render each
piece in the platform's dialect, and split a piece again if escaping made it too long. The result is
deterministic, so a redelivered reply yields the same numbered messages and the sent ledger can tell
which ones already went out.
"""

from __future__ import annotations

from clawbus.channels.contracts import Profile
from clawbus.channels.text_style import render
from clawbus.egress.core.chunk_modes import ChunkMode, split_reply
from clawbus.egress.core.chunking import MIN_LIMIT


def messages(
    text: str, profile: Profile, limit: int | None = None, mode: ChunkMode = ChunkMode.LENGTH
) -> list[str]:
    """The rendered messages a reply's markdown becomes on `profile`'s platform, in order.

    Every message measures at most `limit` (default the platform's) and is not blank. Raises
    `ValueError` for a limit under 200 (escaping can grow a piece up to six times).
    """
    cap = limit or profile.limit
    if cap < 200:
        raise ValueError(f"message limit {cap} is too small to render into (at least 200)")
    return _messages(text, profile, cap, cap, mode)


def _messages(text: str, profile: Profile, size: int, cap: int, mode: ChunkMode) -> list[str]:
    out: list[str] = []
    for chunk in split_reply(text, size, mode):
        rendered = render(chunk.text, profile.style)
        length = profile.measure(rendered)
        if length > cap:
            # Escaping grew it (`&` → `&amp;`), or the platform counts wider characters: split finer.
            smaller = max(MIN_LIMIT, min(size - 1, size * cap // length - 8))
            out.extend(_messages(chunk.text, profile, smaller, cap, mode))
        elif rendered.strip():
            out.append(rendered)
    return out
