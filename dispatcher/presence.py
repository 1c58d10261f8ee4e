"""Showing the user that a turn is under way: `typing` on the channel while a slow turn runs.

Presence is best effort (a failed signal never fails the turn) and only for people: scheduled turns
show nothing. Progress drafts (issue 21) belong here too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from clawbus.bus.errors import ClawbusError
from clawbus.bus.settings import DispatcherSettings
from clawbus.dispatcher.core import typing_signal
from clawbus.dispatcher.publisher import Publisher
from clawbus.schemas import AgentRequest


class Presence:
    """Sends `typing` after `typing_after_ms`, then every `typing_every_s`, until the turn ends."""

    def __init__(
        self, publisher: Publisher, settings: DispatcherSettings, clock: Callable[[], datetime]
    ) -> None:
        self._publisher = publisher
        self._settings = settings
        self._clock = clock

    @contextlib.asynccontextmanager
    async def shown(self, request: AgentRequest, *, show: bool) -> AsyncIterator[None]:
        """Show presence for `request` for the life of the block (nothing when `show` is false)."""
        if not show:
            yield
            return
        task = asyncio.create_task(self._keep_typing(request))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _keep_typing(self, request: AgentRequest) -> None:
        await asyncio.sleep(self._settings.typing_after_ms / 1000)
        beat = 0
        while True:
            signal = typing_signal(request, self._clock())
            with contextlib.suppress(ClawbusError):  # presence is best effort
                publication = await self._publisher.publication(signal, f"{request.reply_id}-typing-{beat}")
                await self._publisher.send(publication)
            beat += 1
            await asyncio.sleep(self._settings.typing_every_s)
