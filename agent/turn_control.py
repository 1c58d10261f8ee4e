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

Steering (queue mode `steer`, docs/queue.md): a `steer` control invocation carries a message that
arrived while the turn ran. The turn takes it (`TurnSignal.steers`) only when it started before the
message reached ingress, the message is not one of its own, the sender's trust equals the turn's (a
stranger's message never gets the owner's tools; in a group, only the turn's own senders steer it),
the turn can take messages (`steerable`: the built-in loop, or the OpenClaw engine's text turns, which
forward them to the gateway: `engines/openclaw/steered_turn.py`) and has not finished; otherwise it
refuses and the message waits as a turn of its own (followup). The loop drains taken messages at its
next boundary (`take_steers`): after the running tool call, before the next model call, or, when the
model has just answered, as one more step whose answer is delivered after the earlier one. Only drained
messages are named in the answer (`AgentResponse.steered`). An `interrupt` control invocation is a
`stop` under the same conditions, silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Awaitable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from clawbus.bus.errors import PermanentError
from clawbus.schemas import AgentRequest, InboundEvent, PeerKind, trusted
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
    trusted: bool = False  # every event of the turn trusted (`schemas.trusted`)
    steerable: bool = False  # the turn's runner takes steered messages (the built-in loop, OpenClaw's)
    finished: bool = False  # past its last boundary: nothing more is taken
    group_senders: frozenset[str] | None = None  # a group turn's senders (None: a direct turn)
    steers: list[InboundEvent] = field(default_factory=list)  # taken, not yet seen by the model
    arrived: asyncio.Event = field(default_factory=asyncio.Event)  # set when a message is taken
    steered: list[str] = field(default_factory=list)  # event ids the model saw, in order

    def may_take(self, event: InboundEvent, *, same_trust: bool = True) -> bool:
        """Whether `event` may act on this turn: sent after the turn's messages, not one of them, and
        (`same_trust`) by a sender as trusted as the turn's — in a group, one of the turn's own senders
        (every group member is admitted alike, so the gate's stamp cannot tell a stranger)."""
        return (
            event.event_id not in self.event_ids
            and (self.newest_received is None or self.newest_received <= event.received_at)
            and (not same_trust or (trusted(event) == self.trusted and self._same_sender(event)))
        )

    def _same_sender(self, event: InboundEvent) -> bool:
        if self.group_senders is None:
            return True
        return event.sender is not None and event.sender.id in self.group_senders

    def steer(self, event: InboundEvent) -> bool:
        """Take `event` for the next boundary; False when this turn cannot (module doc)."""
        taken = {e.event_id for e in self.steers} | set(self.steered)
        if event.event_id in taken:
            return True  # a redelivered copy
        closed = not self.steerable or self.finished or self.stop.is_set()
        if closed or not event.text.strip() or not self.may_take(event):
            return False
        self.steers.append(event)
        self.arrived.set()
        return True

    def take_steers(self) -> tuple[InboundEvent, ...]:
        """The messages taken since the last boundary, now seen by the model (named in the answer)."""
        taken, self.steers = tuple(self.steers), []
        self.steered.extend(e.event_id for e in taken)
        return taken

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


def steer_waiting() -> bool:
    """Whether a steered message waits for the current turn's next boundary."""
    signal = CURRENT_TURN.get()
    return signal is not None and bool(signal.steers)


def take_steers(*, last: bool = False) -> tuple[InboundEvent, ...]:
    """At a boundary: the current turn's steered messages, to show the model now. With `last` (the
    model has answered and no step follows unless one was taken) an empty result finishes the turn,
    so no later steer is taken that the model would never see."""
    signal = CURRENT_TURN.get()
    if signal is None:
        return ()
    taken = signal.take_steers()
    if last and not taken:
        signal.finished = True
    return taken


async def unless_stopped(step: Awaitable[T]) -> T:
    """`step` raced against the current turn's stop signal (just awaited outside a turn)."""
    signal = CURRENT_TURN.get()
    return await (step if signal is None else signal.race(step))


def _group_senders(events: Sequence[InboundEvent]) -> frozenset[str] | None:
    """The senders of a turn's group messages; None when none of its messages came from a group."""
    grouped = [e for e in events if e.peer is not None and e.peer.kind is not PeerKind.DIRECT]
    return frozenset(e.sender.id for e in grouped if e.sender is not None) if grouped else None


class TurnControls:
    """The running turns of this container, by session key."""

    def __init__(self) -> None:
        self._turns: dict[str, TurnSignal] = {}

    @contextlib.contextmanager
    def running(self, request: AgentRequest, *, steerable: bool = False) -> Iterator[TurnSignal]:
        """Register `request`'s turn for the block and make its signal current (`steerable`: its
        runner takes steered messages)."""
        session_key = request.session_key
        signal = TurnSignal(
            request.reply_id,
            frozenset(e.event_id for e in request.events),
            max(e.received_at for e in request.events),
            trusted=all(trusted(e) for e in request.events),
            steerable=steerable,
            group_senders=_group_senders(request.events),
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
        steered = None
        if request.control == "stop" and signal.may_take(command, same_trust=False):
            signal.stop.set()  # a trusted sender's command (ingress sent it on the lane): it may stop
        elif request.control == "interrupt" and signal.may_take(command):
            signal.stop.set()
        elif request.control == "steer":
            steered = signal.steer(command)
        return RunningTurnReport(
            running=True,
            reply_id=signal.reply_id,
            running_s=round(time.monotonic() - signal.started, 1),
            stop_requested=signal.stop.is_set(),
            steered=steered,
        )
