"""The control lane's handler: `/stop`, `/status`, `/queue` and a reset's stop, acting at once.

A control copy (`InboundEvent.control`, `schemas/control.py`) arrives in its session's control group
while the session's own group is held by a running turn, so this runs beside that turn, never behind it:

- `stop` asks the agent to stop the session's running turn (a control invocation to the same AgentCore
  runtime session: the container running the turn gets it; `agent/turn_control.py`), which ends at its
  next model or tool boundary with no answer; the turn's messages are then recorded and consumed like
  any answered turn's. The sender is told whether something was stopped.
- `reset` (the control copy of `/new` or `/reset`) stops the running turn the same way and says
  nothing: the FIFO copy behind it starts the new session in order.
- `status` answers without the model: the session key, its queue settings, its running turn (as the
  agent reports it, else as this dispatcher knows it) and what waits.
- `queue` shows, stores or clears the session's queue override (`session_queues.py`).
- `steer` and `interrupt` (the control copy of an ordinary message of a `steer`/`interrupt` channel)
  act only while this dispatcher runs a turn of the session (`SessionActivity`: no request otherwise)
  and the session's own `/queue` mode agrees (`core.mid_turn_action`): `steer` hands the message to the
  running turn (the agent takes it at its next boundary, or refuses: no running turn, another trust,
  an engine that cannot take it), `interrupt` stops the running turn silently. Either way the FIFO
  copy follows: a turn of its own, unless the turn that took it recorded it (`steer`). Nothing is
  answered here, and a failed invocation is only logged (the FIFO copy still answers the message).

Each answer is a reply with a stable id derived from the event, so a redelivered command answers once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from clawbus.bus.errors import ClawbusError
from clawbus.bus.logging import log_event, session_ref
from clawbus.bus.settings import QueueSettings
from clawbus.dispatcher.core import build_reply, build_request
from clawbus.dispatcher.core.control_commands import (
    effective_queue,
    mid_turn_action,
    parse_queue_command,
    queue_text,
    status_text,
)
from clawbus.dispatcher.publisher import Publisher
from clawbus.dispatcher.session_activity import SessionActivity
from clawbus.dispatcher.session_queues import SessionQueues
from clawbus.schemas import AgentRequest, AgentResponse, InboundEvent, message_group_id
from clawbus.schemas.control import MID_TURN, QUEUE, RESET, STATUS, STOP, command_word
from clawbus.schemas.invocation import RunningTurnReport

logger = logging.getLogger(__name__)


class ControlAgent(Protocol):
    """The one agent method the control lane uses (`TurnHandler`'s `Agent`)."""

    async def invoke(self, request: AgentRequest, *, traceparent: str | None = None) -> AgentResponse: ...


class ControlLane:
    """Handles one control command at once (module doc); raises the agent's or the index's errors."""

    def __init__(
        self,
        agent: ControlAgent,
        publisher: Publisher,
        queue: QueueSettings,
        activity: SessionActivity,
        queues: SessionQueues | None,
        clock: Callable[[], datetime],
    ) -> None:
        self._agent = agent
        self._publisher = publisher
        self._queue = queue
        self._activity = activity
        self._queues = queues
        self._clock = clock

    async def __call__(self, event: InboundEvent) -> None:
        """Act on `event`'s command and answer it (a reset's stop answers nothing)."""
        command = event.control
        if command in MID_TURN:
            await self._mid_turn(event)
            return
        if command in (STOP, RESET):
            report = await self._ask(event, "stop")
            text = (
                ("Stopped the running turn." if report.running else "Nothing is running.")
                if command == STOP
                else None
            )
        elif command == STATUS:
            text = await self._status(event)
        elif command == QUEUE:
            text = await self._set_queue(event)
        else:
            text = None
        log_event(
            logger,
            "dispatcher.control.handled",
            command=command,
            event_id=event.event_id,
            channel=event.channel,
            session=session_ref(event.session_key),
        )
        if text is not None:
            request = build_request([event])
            reply = build_reply(
                request.model_copy(update={"reply_id": f"{request.reply_id}-control"}),
                AgentResponse(parts=(text,)),
            )
            if reply is not None:
                await self._publisher.send(await self._publisher.publication(reply))

    async def _mid_turn(self, event: InboundEvent) -> None:
        """A `steer`/`interrupt` copy: into (or stopping) the session's running turn, or nothing."""
        running = self._activity.running(message_group_id(event.session_key)) is not None
        override = None
        if running and self._queues is not None:
            try:
                override = await self._queues.get(event)
            except ClawbusError as exc:  # a preference: act on the configured mode
                log_event(
                    logger, "dispatcher.queue_override.unreadable", logging.WARNING, reason=str(exc)[:300]
                )
        mode = effective_queue(self._queue, override, event.channel).mode
        action = mid_turn_action(event.control, running=running, mode=mode)
        report = None
        if action is not None:
            try:
                report = await self._ask(event, action)
            except ClawbusError as exc:  # best effort: the FIFO copy answers the message either way
                log_event(logger, "dispatcher.control.failed", logging.WARNING, reason=str(exc)[:300])
        log_event(
            logger,
            "dispatcher.control.handled",
            command=event.control,
            event_id=event.event_id,
            channel=event.channel,
            session=session_ref(event.session_key),
            action=action,
            taken=bool(report and (report.steered or report.stop_requested)),
        )

    async def _ask(self, event: InboundEvent, control: str) -> RunningTurnReport:
        """The agent's report on the session's running turn (after stopping it, for `stop`)."""
        request = build_request([event]).model_copy(update={"control": control})
        response = await self._agent.invoke(request)
        return response.running or RunningTurnReport(running=False)

    async def _status(self, event: InboundEvent) -> str:
        override = await self._queues.get(event) if self._queues is not None else None
        queue = effective_queue(self._queue, override, event.channel)
        report = await self._ask(event, "status")
        local = self._activity.running(message_group_id(event.session_key))
        if report.running:
            running = f"yes, for {report.running_s:.0f} s" + (" (stopping)" if report.stop_requested else "")
        elif local is not None:
            running = f"yes, for {(self._clock().timestamp() * 1000 - local.started_ms) / 1000:.0f} s"
        else:
            running = "no"
        held = local.messages if local is not None else 0
        waiting = (
            f"{held} message(s) in the running turn; later ones wait in the session's queue behind it"
            if local is not None
            else "nothing held here"
        )
        return status_text(
            event.session_key, queue, overridden=override is not None, running=running, waiting=waiting
        )

    async def _set_queue(self, event: InboundEvent) -> str:
        word = command_word(event.text)
        command = parse_queue_command(word[1] if word else "")
        if command.action == "error":
            return command.error or "?"
        current = await self._queues.get(event) if self._queues is not None else None
        if command.action == "show" or self._queues is None:
            return queue_text(
                effective_queue(self._queue, current, event.channel), overridden=current is not None
            )
        override = command.override if command.action == "set" else None
        if override is not None and current is not None:  # options not given keep their stored values
            override = type(override)(
                override.mode or current.mode,
                current.debounce_ms if override.debounce_ms is None else override.debounce_ms,
                override.cap or current.cap,
                override.drop or current.drop,
            )
        await self._queues.put(event, override)
        text = queue_text(
            effective_queue(self._queue, override, event.channel), overridden=override is not None
        )
        return f"Queue settings for this session updated. {text}"
