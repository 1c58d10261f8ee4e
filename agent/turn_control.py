"""Stopping a running turn: the signal a turn checks at each model and tool boundary.

The agent app registers each turn it runs by session key (`TurnControls.running`) and makes the turn's
`TurnSignal` current (a context variable the loop reads, so no signature in between changes). A control
invocation for the session (`AgentRequest.control`: the dispatcher's control lane; AgentCore routes one
runtime session id to one microVM, so it reaches the container running the turn) sets the signal or
reads it. The loop checks the signal before each model call and each tool call, and races a model
call against it (a model call has no effect outside the turn, so cutting it short is safe); a tool
that has started finishes. A stopped turn ends with `TurnStopped`: nothing of it is appended to the
transcript or answered, and the app answers `stopped: true`, which the dispatcher records as the
turn's (empty) answer, so its messages are consumed and never run again.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Awaitable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from clawbus.bus.errors import PermanentError
from clawbus.schemas import AgentRequest
from clawbus.schemas.invocation import RunningTurnReport

T = TypeVar("T")


class TurnStopped(PermanentError):
    """The turn was stopped by `/stop` at a boundary (not a failure: the app answers `stopped`)."""


@dataclass
class TurnSignal:
    """One running turn's stop flag, checked at its boundaries."""

    reply_id: str
    event_ids: frozenset[str] = frozenset()
    newest_received: datetime | None = None  # when the newest of the turn's events reached ingress
    started: float = field(default_factory=time.monotonic)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def check(self) -> None:
        """Raise `TurnStopped` when a stop was asked for (call at a boundary)."""
        if self.stop.is_set():
            raise TurnStopped(f"turn {self.reply_id} stopped at a boundary")

    async def race(self, step: Awaitable[T]) -> T:
        """`step`'s result, unless a stop comes first: then `step` is cancelled and `TurnStopped` raised."""
        if self.stop.is_set() and inspect.iscoroutine(step):
            step.close()  # never started: nothing to cancel
        self.check()
        task = asyncio.ensure_future(step)
        stopped = asyncio.ensure_future(self.stop.wait())
        try:
            await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:  # the caller was cancelled: the step goes with it
            task.cancel()
            raise
        finally:
            stopped.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self.check()
        return task.result()


CURRENT_TURN: ContextVar[TurnSignal | None] = ContextVar("clawbus_current_turn", default=None)


def check_stop() -> None:
    """At a boundary of the current turn (if any): raise `TurnStopped` when it was asked to stop."""
    signal = CURRENT_TURN.get()
    if signal is not None:
        signal.check()


async def unless_stopped(step: Awaitable[T]) -> T:
    """`step` raced against the current turn's stop signal (just awaited outside a turn)."""
    signal = CURRENT_TURN.get()
    return await (step if signal is None else signal.race(step))


class TurnControls:
    """The running turns of this container, by session key."""

    def __init__(self) -> None:
        self._turns: dict[str, TurnSignal] = {}

    @contextlib.contextmanager
    def running(self, request: AgentRequest) -> Iterator[TurnSignal]:
        """Register `request`'s turn for the block and make its signal current."""
        session_key = request.session_key
        signal = TurnSignal(
            request.reply_id,
            frozenset(e.event_id for e in request.events),
            max(e.received_at for e in request.events),
        )
        self._turns[session_key] = signal
        token = CURRENT_TURN.set(signal)
        try:
            yield signal
        finally:
            CURRENT_TURN.reset(token)
            if self._turns.get(session_key) is signal:
                del self._turns[session_key]

    def report(self, request: AgentRequest) -> RunningTurnReport:
        """The session's running turn, stopped first when `request` is a `stop` that was sent after the
        turn's messages (so a reset's control copy never stops the turn of the reset itself)."""
        signal = self._turns.get(request.session_key)
        if signal is None:
            return RunningTurnReport(running=False)
        command = request.events[-1]
        if (
            request.control == "stop"
            and command.event_id not in signal.event_ids
            and (signal.newest_received is None or signal.newest_received <= command.received_at)
        ):
            signal.stop.set()
        return RunningTurnReport(
            running=True,
            reply_id=signal.reply_id,
            running_s=round(time.monotonic() - signal.started, 1),
            stop_requested=signal.stop.is_set(),
        )
