"""`clawbus relay`: the always-on process holding the connections that are not webhooks (ECS in AWS).

One task per configured transport, in one `TaskGroup`:

| channel | runs when | transport |
|---|---|---|
| telegram | `BOT_TOKEN` set and `MODE=polling` | `getUpdates` long polling |
| slack | `BOT_TOKEN` set and `MODE=socket` (needs `APP_TOKEN`) | Socket Mode WebSocket |
| discord | `BOT_TOKEN` set | the gateway (discord.py), MESSAGE_CONTENT intent |

Each task keeps its connection up with jittered exponential backoff (`reconnect.py`). Every event goes
through the channel's normaliser and the same `Intake` the webhooks use. SIGTERM/SIGINT (or `stop`) ends
every session: in-flight handovers finish, connections close, and `run` returns (the process exits 0).
A refused token (`Unauthorized`) or an impossible configuration (`ConfigError`) stops the relay with
that error instead of retrying forever.
"""

from __future__ import annotations

import asyncio
import logging

from clawbus.bus.clients import IngressClients, open_stage_clients
from clawbus.bus.errors import ConfigError
from clawbus.bus.lifecycle import stop_on_signals
from clawbus.bus.logging import log_event
from clawbus.bus.settings import Settings
from clawbus.channels.registry import all_channels
from clawbus.ingress.intake import Intake
from clawbus.ingress.relay.handoff import Handoff
from clawbus.ingress.relay.reconnect import Backoff, Transport, keep_connected
from clawbus.ingress.wiring import build_intake

logger = logging.getLogger(__name__)


def relayed_channels(settings: Settings) -> list[str]:
    """The channels whose connection the relay holds with these settings (empty: nothing to relay)."""
    return [
        s.name
        for s in all_channels()
        if s.relay is not None and s.enabled(settings) and s.relay.enabled(s.settings(settings))
    ]


def build_transports(settings: Settings, intake: Intake) -> list[Transport]:
    """One transport per relayed channel (its spec's `relay.connect`); `ConfigError` names what is missing."""
    transports: list[Transport] = []
    retry_s = settings.relay.enqueue_retry_s
    for spec in all_channels():
        if spec.relay is None or spec.name not in relayed_channels(settings):
            continue
        handoff = Handoff(intake, spec.name, retry_for_s=retry_s)
        transports.append(spec.relay.connect(spec.settings(settings), handoff))
    return transports


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Hold every configured connection until stopped (SIGTERM/SIGINT or `stop`).

    Raises:
        ConfigError: no channel is configured for the relay, or one lacks a setting it needs.
        Unauthorized: a platform refused its token.
    """
    stop = stop or asyncio.Event()
    if not relayed_channels(settings):
        raise ConfigError(
            "nothing to relay: set CLAWBUS_TELEGRAM__MODE=polling, CLAWBUS_SLACK__MODE=socket (with "
            "CLAWBUS_SLACK__APP_TOKEN) or CLAWBUS_DISCORD__BOT_TOKEN, with the channel's BOT_TOKEN"
        )
    stop_on_signals(stop)
    backoff = Backoff(settings.relay.backoff_initial_s, settings.relay.backoff_max_s)
    async with open_stage_clients(settings, IngressClients) as clients:
        intake, _publisher = await build_intake(settings, clients)
        transports = build_transports(settings, intake)
        log_event(logger, "relay.started", channels=[t.channel for t in transports])
        try:
            async with asyncio.TaskGroup() as group:
                for transport in transports:
                    group.create_task(keep_connected(transport, stop, backoff), name=transport.channel)
        except ExceptionGroup as errors:  # a transport that cannot go on (a refused token): its error alone
            # (not `except*`: before 3.11.4 an exception raised inside it is wrapped in a new group)
            raise errors.exceptions[0] from None
    log_event(logger, "relay.stopped")
