"""The turns this dispatcher runs, by FIFO group: whether one runs now, and when the last one ended.

The queue modes apply to messages that arrived while a turn of their session ran (`core/queue_mode.py`).
SQS FIFO holds a group's later messages back while a turn's messages are in flight, so when a run
arrives, its messages sent before the group's last turn ended were *queued* behind that turn, and the
others reached an idle session. The dispatcher that ran the turn knows when it ended; another
instance does not, and plans the run as an idle session's (no debounce: the cheaper mistake). `/status`
reads the running turns from here too.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class RunningTurn:
    """A turn this dispatcher is running: how many messages it consumes, since when (epoch ms)."""

    messages: int
    started_ms: int


class SessionActivity:
    """Running turns and last turn ends by group id (the last `limit` groups are remembered)."""

    def __init__(self, limit: int = 10_000) -> None:
        self._limit = limit
        self._ended: OrderedDict[str, int] = OrderedDict()
        self._running: dict[str, RunningTurn] = {}

    def started(self, group_id: str, turn: RunningTurn) -> None:
        """A turn of `group_id` started."""
        self._running[group_id] = turn

    def ended(self, group_id: str, now_ms: int) -> None:
        """The group's turn ended (or its unit was handled without one) at `now_ms`."""
        self._running.pop(group_id, None)
        self._ended[group_id] = now_ms
        self._ended.move_to_end(group_id)
        while len(self._ended) > self._limit:
            self._ended.popitem(last=False)

    def busy_until_ms(self, group_id: str) -> int | None:
        """When the group's last turn here ended (None: none lately, as far as this process knows)."""
        return self._ended.get(group_id)

    def running(self, group_id: str) -> RunningTurn | None:
        """The group's turn running here now, if any."""
        return self._running.get(group_id)
