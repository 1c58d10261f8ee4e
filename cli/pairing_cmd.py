"""`clawbus pairing list|approve`: see who asked to talk to the bot, and let them in.

Against the deployment the ops flags name (`cli/ops_target.py`); `settings` arrive already pointed there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime

from clawbus.bus.clients import IngressClients, open_stage_clients
from clawbus.bus.settings import Settings
from clawbus.bus.topology import pairing_table_name
from clawbus.channels.registry import all_channels
from clawbus.cli.console import Console
from clawbus.ingress.pairing_store import DynamoPairingStore


def pairing_channels() -> list[str]:
    """The channels whose unknown senders can ask for a pairing code (not WebChat: `ChannelSpec.pairing`)."""
    return [s.name for s in all_channels() if s.pairing]


async def _list(settings: Settings, channel: str | None, account: str) -> list[dict[str, str]]:
    async with open_stage_clients(settings, IngressClients) as clients:
        store = DynamoPairingStore(clients.dynamodb, pairing_table_name(settings.bus.prefix))
        now = datetime.now(UTC)
        rows = []
        for name in [channel] if channel else pairing_channels():
            for request in await store.pending(name, account, now):
                rows.append(
                    {
                        "channel": name,
                        "sender_id": request.sender_id,
                        "code": request.code,
                        "created_at": request.created_at.isoformat(),
                    }
                )
        return rows


async def _approve(settings: Settings, channel: str, code: str, account: str) -> str | None:
    async with open_stage_clients(settings, IngressClients) as clients:
        store = DynamoPairingStore(clients.dynamodb, pairing_table_name(settings.bus.prefix))
        found = await store.approve(channel, account, code, datetime.now(UTC))
        return found.sender_id if found else None


def run_pairing(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    """List pending requests, or approve one by code; exit 1 when the code is unknown or expired, 2 when
    the channel or code is missing. AWS errors are left to the caller (`cli/main.py`'s one rule)."""
    action, channel, code, account, as_json = args.action, args.channel, args.code, args.account, args.json
    if action == "list":
        rows = asyncio.run(_list(settings, channel, account))
        if as_json:
            console.print(json.dumps(rows))
        elif not rows:
            console.print("no pending pairing requests")
        else:
            for row in rows:
                console.print(
                    f"{row['channel']}  {row['code']}  sender {row['sender_id']}  since {row['created_at']}"
                )
        return 0
    if channel is None or code is None:
        console.error("usage: clawbus pairing approve <channel> <code>")
        return 2
    sender = asyncio.run(_approve(settings, channel, code, account))
    if sender is None:
        console.error(
            f"no pending {channel} pairing request with code {code.upper()} (codes expire after 1 hour)"
        )
        return 1
    if as_json:
        console.print(json.dumps({"channel": channel, "sender_id": sender, "approved": True}))
    else:
        console.print(f"approved {channel} sender {sender}")
    return 0
