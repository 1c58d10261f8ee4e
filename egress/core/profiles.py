"""What each platform allows: message size, text dialect, rate limits; and the messages a reply becomes.

`messages(text, profile)` is the whole pure pipeline for one reply: split the markdown under the limit
(fences kept balanced), render each piece in the platform's dialect, and split a piece again if escaping
made it too long. The result is deterministic, so a redelivered reply yields the same numbered messages
and the sent ledger can tell which ones already went out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from clawbus.egress.core.chunking import MIN_LIMIT, split_markdown
from clawbus.egress.core.formatting import Dialect, render
from clawbus.egress.core.rate_plan import Limit

Scopes = list[tuple[str, Limit]]


def _telegram_scopes(chat_id: str) -> Scopes:
    scopes = [(f"chat:{chat_id}", Limit(1, 1.0)), ("bot", Limit(30, 1.0))]
    if chat_id.startswith("-"):  # groups, supergroups and channels have negative ids
        scopes.append((f"group:{chat_id}", Limit(20, 60.0)))
    return scopes


def _per_chat(count: int, period_s: float, bot: Limit | None = None) -> Callable[[str], Scopes]:
    def scopes(chat_id: str) -> Scopes:
        found = [(f"chat:{chat_id}", Limit(count, period_s))]
        return [*found, ("bot", bot)] if bot else found

    return scopes


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts message length (an emoji outside the BMP is 2)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class Profile:
    """One platform's limits. `scopes(chat_id)` names the rate-limit windows a send to that chat uses;
    `measure` is how the platform counts a message's length."""

    name: str
    limit: int
    dialect: Dialect
    scopes: Callable[[str], Scopes]
    measure: Callable[[str], int] = len


TELEGRAM = Profile("telegram", 4096, Dialect.TELEGRAM_HTML, _telegram_scopes, utf16_length)
SLACK = Profile("slack", 4000, Dialect.SLACK_MRKDWN, _per_chat(1, 1.0))
DISCORD = Profile("discord", 2000, Dialect.DISCORD, _per_chat(5, 5.0, Limit(50, 1.0)))
WHATSAPP = Profile("whatsapp", 4096, Dialect.WHATSAPP, _per_chat(1, 1.0))
PROFILES = {p.name: p for p in (TELEGRAM, SLACK, DISCORD, WHATSAPP)}


def messages(text: str, profile: Profile, limit: int | None = None) -> list[str]:
    """The rendered messages a reply's markdown becomes on `profile`'s platform, in order.

    Every message measures at most `limit` (default the platform's) and is not blank. Raises
    `ValueError` for a limit under 200 (escaping can grow a piece up to six times).
    """
    cap = limit or profile.limit
    if cap < 200:
        raise ValueError(f"message limit {cap} is too small to render into (at least 200)")
    return _messages(text, profile, cap, cap)


def _messages(text: str, profile: Profile, size: int, cap: int) -> list[str]:
    out: list[str] = []
    for chunk in split_markdown(text, size):
        rendered = render(chunk.text, profile.dialect)
        length = profile.measure(rendered)
        if length > cap:
            # Escaping grew it (`&` → `&amp;`), or the platform counts wider characters: split finer.
            smaller = max(MIN_LIMIT, min(size - 1, size * cap // length - 8))
            out.extend(_messages(chunk.text, profile, smaller, cap))
        elif rendered.strip():
            out.append(rendered)
    return out
