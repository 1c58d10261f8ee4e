"""The steps `clawbus up` takes around starting its stages: the ports free, the local extra installed, the
saved state restored or refused, the stored state seeded, the heartbeat schedules applied."""

from __future__ import annotations

import asyncio
import errno
import importlib.util
import json
import socket
import time
from typing import TYPE_CHECKING

from clawbus.bus.settings import Settings

if TYPE_CHECKING:  # the supervisor (psutil, ctypes) is `up`'s: the loopback AWS API imports this module
    from clawbus.local.supervisor import Stage


class PortTaken(Exception):
    """A port `up` needs is in use."""


def check_port_free(host: str, port: int, what: str, flag: str) -> None:
    """Raise `PortTaken` with a one-line fix when `host:port` cannot be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            reason = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be bound ({exc.strerror})"
            raise PortTaken(
                f"port {port} on {host} ({what}) {reason} — stop what uses it or choose another with {flag}"
            ) from exc


def state_on_start(stage: Stage) -> tuple[str, str | None]:
    """What the loopback API did with the saved state ("restored" / "new"), and a warning if any."""
    warning = None
    restored = "new"
    for line in stage.tail:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if record.get("event") == "local_aws.state.rejected":
            warning = str(record.get("error"))
        if record.get("event") == "local_aws.started" and record.get("restored"):
            restored = "restored"
    return restored, warning


async def apply_heartbeats(settings: Settings) -> list[str]:
    """Create (or delete, when off) each agent's heartbeat schedule, from the environment over the stored
    configuration document (its `agents.defaults.heartbeat`); the schedules that exist."""
    from clawbus.bus.clients import CronClients, open_stage_clients
    from clawbus.openclaw.document_settings import load_settings_async
    from clawbus.storage.cron.service import connect

    heartbeat = (await load_settings_async(settings)).settings.heartbeat
    async with open_stage_clients(settings, CronClients) as clients:
        return await (await connect(settings, clients)).apply_heartbeats(heartbeat)


async def seed_state(settings: Settings) -> tuple[bool, list[str]]:
    """The first start's state: the configuration document from its seed file (never over a stored one)
    and each channel's secret from the environment; whether the config was seeded, the secrets created."""
    from clawbus.bus.clients import ConfigClients, open_stage_clients
    from clawbus.local.secret_seed import seed_channel_secrets
    from clawbus.storage import config_store, seed_config

    async with open_stage_clients(settings, ConfigClients) as clients:
        seeded = await seed_config(settings, config_store(settings, clients))
        return seeded, await seed_channel_secrets(clients.secretsmanager, settings)


def seed_state_now(settings: Settings) -> tuple[bool, list[str]]:
    """`seed_state` in a loop of its own (in `up`'s helper thread, while provisioning runs)."""
    return asyncio.run(seed_state(settings))


def missing_local_extra() -> str | None:
    """Why the loopback AWS API cannot run here (moto is an extra, left out of production images), or None."""
    if importlib.util.find_spec("moto") is None:
        return (
            "the loopback AWS API needs moto, which is not installed: "
            "pip install 'clawbus[local]' (from a checkout: pip install -e '.[local]')"
        )
    return None


def since_start() -> str:
    """How long `clawbus up` has taken so far ("in 4.8 s since `clawbus up` started"), its imports included
    (from `cli.STARTED_AT`)."""
    from clawbus.cli import STARTED_AT

    return f"in {time.monotonic() - STARTED_AT:.1f} s since `clawbus up` started"
