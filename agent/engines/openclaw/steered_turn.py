"""One OpenClaw turn that takes the messages steered into it (queue mode `steer`, docs/queue.md).

The turn is a `chat.send` run (`rpc.py`). While it runs, each message the app's control lane lets into
it (`TurnSignal.steer`: same session, sent after the turn's messages, as trusted as its senders, one
of a group turn's own senders) is sent to the gateway as a `chat.send` with `queueMode: "steer"` on the
same session, which OpenClaw injects into the running run at its next boundary (a running tool call
finishes; the model sees the message before its next call) — or, when the run can no longer take it,
keeps as a run of its own after it.

Only a message the run really took is named in the answer (`AgentResponse.steered`): once the run
has ended, the session's history tells (`injected`: the message's user entry, keyed by the steer's
run id, followed by an answer of this run). A steer it did not take is withdrawn (`chat.abort` with
its run id, which cancels it while it waits), so the dispatcher's followup — the message's own FIFO
copy — is its only answer. Never lost, never answered twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from clawbus.agent.engines.openclaw.client import agent_of
from clawbus.agent.engines.openclaw.rpc import GatewayRpc
from clawbus.agent.turn_control import CURRENT_TURN, TurnSignal
from clawbus.bus.errors import ClawbusError
from clawbus.bus.logging import log_event, session_ref

logger = logging.getLogger(__name__)

HISTORY_LIMIT = 200  # entries read back after a steered turn: its own and its steers' are the newest


def injected(history: Sequence[object], run_id: str, sent: dict[str, str]) -> tuple[str, ...]:
    """The event ids of the steers (`sent`: steer run id → event id) that run `run_id` took: a steer's
    user entry (idempotency key `<steer run id>:user`) followed by an answer of `run_id`. Pure."""
    entries = [m for m in history if isinstance(m, dict)]
    taken = []
    for steer_run, event_id in sent.items():
        at = next((i for i, m in enumerate(entries) if m.get("idempotencyKey") == f"{steer_run}:user"), None)
        if at is not None and any(_answer_of(m, run_id) for m in entries[at + 1 :]):
            taken.append(event_id)
    return tuple(taken)


def _answer_of(entry: dict[str, Any], run_id: str) -> bool:
    meta = entry.get("__openclaw")
    return entry.get("role") == "assistant" and isinstance(meta, dict) and meta.get("runId") == run_id


async def _forward(
    rpc: GatewayRpc, base: dict[str, Any], run_id: str, signal: TurnSignal, sent: dict[str, str]
) -> None:
    """Send each message the turn takes to the gateway as a steer of the session's running run."""
    while True:
        await signal.arrived.wait()
        signal.arrived.clear()
        for event in signal.take_steers():
            steer_run = f"{run_id}-steer-{len(sent) + 1}"
            sent[steer_run] = event.event_id  # before sending: a steer sent as the turn ends is withdrawn
            await rpc.call(
                "chat.send",
                {**base, "message": event.text, "queueMode": "steer", "idempotencyKey": steer_run},
            )
            log_event(logger, "agent.openclaw.steer_sent", session=session_ref(str(base["sessionKey"])))


async def _withdraw(rpc: GatewayRpc, where: dict[str, Any], steer_runs: list[str]) -> None:
    """Cancel steers at the gateway that wait as runs of their own (best effort: one that already
    ended or is gone has nothing left to cancel)."""
    for steer_run in steer_runs:
        with contextlib.suppress(ClawbusError, TimeoutError):
            await asyncio.wait_for(asyncio.shield(rpc.call("chat.abort", {**where, "runId": steer_run})), 5)


async def _settle(
    rpc: GatewayRpc, where: dict[str, Any], run_id: str, sent: dict[str, str]
) -> tuple[str, ...]:
    """The steers the run took (none when the history cannot be read); the others withdrawn (their
    FIFO copies answer them)."""
    if not sent:
        return ()
    try:
        history = await rpc.call("chat.history", {**where, "limit": HISTORY_LIMIT})
    except ClawbusError as exc:
        log_event(logger, "agent.openclaw.history_unread", logging.WARNING, error=type(exc).__name__)
        history = {}
    taken = injected(history.get("messages") or [], run_id, sent)
    await _withdraw(rpc, where, [steer_run for steer_run, event_id in sent.items() if event_id not in taken])
    log_event(
        logger,
        "agent.openclaw.steered",
        session=session_ref(str(where["sessionKey"])),
        sent=len(sent),
        taken=len(taken),
    )
    return taken


async def steered_chat(rpc: GatewayRpc, session_key: str, message: str) -> tuple[str, tuple[str, ...]]:
    """Run `message` as one `chat.send` turn on `session_key` (the gateway's key), forwarding the
    current turn's steered messages into it: its answer and the event ids it took."""
    where: dict[str, Any] = {"sessionKey": session_key, "agentId": agent_of(session_key)}
    base = {
        **where,
        "deliver": False,  # the bus delivers
        "suppressCommandInterpretation": True,  # a message is the model's, as over the OpenAI endpoint
    }
    run_id = f"clawbus-{uuid.uuid4().hex}"
    signal = CURRENT_TURN.get()
    sent: dict[str, str] = {}
    forwarder = asyncio.create_task(_forward(rpc, base, run_id, signal, sent)) if signal is not None else None
    try:
        answer = await _run(rpc, {**base, "message": message, "idempotencyKey": run_id}, signal, forwarder)
    except BaseException:  # the turn failed or was stopped: nothing it took is named, so none may run
        with contextlib.suppress(asyncio.CancelledError):
            await _withdraw(rpc, where, list(sent))
        raise
    return answer, await _settle(rpc, where, run_id, sent)


async def _run(
    rpc: GatewayRpc, params: dict[str, Any], signal: TurnSignal | None, forwarder: asyncio.Task[None] | None
) -> str:
    """The run's answer; then no more steers are taken or sent."""
    try:
        return await rpc.chat(params)
    finally:
        if signal is not None:
            signal.finished = True  # nothing more is taken: it would not reach this run
        if forwarder is not None:
            forwarder.cancel()
            with contextlib.suppress(asyncio.CancelledError, ClawbusError):
                await forwarder
