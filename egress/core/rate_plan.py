"""How long to wait before the next send, given each platform's published limits.

Platforms limit sends per chat and per bot (Telegram: about 1 message a second in one chat, 20 a minute
in one group, about 30 a second overall; Slack about 1 a second per channel; Discord 5 per 5 seconds per
channel and 50 a second per bot; WhatsApp paces messages to one user). A `RatePlan` holds the recent send
times per scope and answers, for the scopes a send touches and a clock reading `now`, how long to wait.
Staying under the limits avoids most 429s; the ones that still come are honoured by the sender.

No clock and no sleeping here: the caller passes `now` and does the waiting.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from clawbus.channels.contracts import Limit


class RatePlan:
    """Sliding-window send history per scope; not thread-safe (one event loop owns it)."""

    def __init__(self) -> None:
        self._history: dict[str, deque[float]] = {}

    def delay(self, scopes: Iterable[tuple[str, Limit]], now: float) -> float:
        """Seconds to wait before a send in all `scopes` keeps every limit (0 when it may go now)."""
        wait = 0.0
        for scope, limit in scopes:
            sent = self._history.get(scope)
            if sent is None:
                continue
            while sent and sent[0] <= now - limit.period_s:
                sent.popleft()
            if len(sent) >= limit.count:
                wait = max(wait, sent[-limit.count] + limit.period_s - now)
        return wait

    def record(self, scopes: Iterable[tuple[str, Limit]], now: float) -> None:
        """Note a send at `now` in every scope."""
        for scope, limit in scopes:
            sent = self._history.setdefault(scope, deque(maxlen=limit.count))
            sent.append(now)

    def hold(self, scopes: Iterable[tuple[str, Limit]], until: float) -> None:
        """The platform said wait until `until` (a 429): no send in these scopes before then."""
        for scope, limit in scopes:
            sent = self._history.setdefault(scope, deque(maxlen=limit.count))
            sent.extend([until - limit.period_s] * limit.count)
