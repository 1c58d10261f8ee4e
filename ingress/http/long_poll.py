"""How many WebChat long polls ingress holds open: a few per client, a bounded number in all.

A long poll holds a connection (and a read loop on the WebChat table) for up to
`webchat_wait_max_s`. Each is bounded in time already; these slots bound them in number, so one client
(a token's conversation: one browser's tabs, one `clawbus say`) cannot hold more than
`webchat_polls_per_client` at once, nor all clients together more than `webchat_polls_max`. A poll that
finds no slot is answered at once with 429 and `Retry-After`, instead of being held.

The counters live in this process (ingress is one event loop; nothing here awaits).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager


class PollSlots:
    """Counted slots for open long polls, per client and in total."""

    def __init__(self, per_client: int, total: int) -> None:
        self._per_client = per_client
        self._total = total
        self._open: Counter[str] = Counter()

    @contextmanager
    def hold(self, client: str) -> Iterator[bool]:
        """Take a slot for `client` for the duration of the block; yields False (and takes nothing) when
        the client or the process is at its limit."""
        if self._open[client] >= self._per_client or self._open.total() >= self._total:
            yield False
            return
        self._open[client] += 1
        try:
            yield True
        finally:
            self._open[client] -= 1
            if self._open[client] <= 0:
                del self._open[client]
