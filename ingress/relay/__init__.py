"""The relay: ingress for the platform connections that are not webhooks (`clawbus relay`, ECS in AWS).

Webhooks arrive by themselves; these connections must be held open by a process that never stops:
Telegram long polling (`getUpdates`), Slack Socket Mode (a WebSocket opened with the app-level token)
and the Discord gateway (a WebSocket through discord.py, with the MESSAGE_CONTENT intent). Each
transport is a thin adapter, as slack_bolt's socket-mode adapter is: it turns the library's event into
the payload the channel's pure normaliser takes (`channels/<channel>/inbound.py`; the transports
themselves are `channels/<channel>/relay.py`, built from each `ChannelSpec.relay`) and hands it to the same
`Intake` as the webhook routes (claim → gate → enqueue or pairing reply). Where a webhook verifies a
signature, the relay's authenticated connection, opened with the bot's own credentials, stands in for
it. `reconnect.py` keeps each connection up; `main.py` runs one task per configured transport.
"""

from __future__ import annotations

from clawbus.ingress.relay.handoff import Handoff
from clawbus.ingress.relay.main import build_transports, relayed_channels, run
from clawbus.ingress.relay.reconnect import Backoff, Transport, keep_connected

__all__ = [
    "Backoff",
    "Handoff",
    "Transport",
    "build_transports",
    "keep_connected",
    "relayed_channels",
    "run",
]
