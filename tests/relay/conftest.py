"""The relay as a real `clawbus relay` process against the loopback AWS API and fake platforms.

Assertions read what landed on the inbound queue (and, for pairing, on a channel's egress queue): what
the dispatcher would see, exactly as the webhook tests do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from clawbus.bus.topology import inbound_queue_name
from clawbus.local.supervisor import Supervisor
from tests.conftest import Bus
from tests.helpers import drain_queue, stage, stage_supervisor


@dataclass
class RelayProcess:
    """A running `clawbus relay` and the bus it feeds."""

    bus: Bus
    supervisor: Supervisor
    log_dir: Path
    stopped: bool = False

    def drain(self, queue: str | None = None, expect: int = 0, timeout: float = 15) -> list[dict[str, Any]]:
        """Every message on the inbound (or another) queue, deleted; waits until `expect` arrived."""
        url = self.bus.queue_url(queue or inbound_queue_name(self.bus.prefix))
        return drain_queue(self.bus.client("sqs"), url, expect, timeout, mid_turn_copies=False)

    def log(self) -> list[dict[str, Any]]:
        """The relay's structured log lines so far."""
        lines = (self.log_dir / "relay.log").read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def events(self, name: str) -> list[dict[str, Any]]:
        """Log records with this `event` name."""
        return [record for record in self.log() if record.get("event") == name]

    def stop(self) -> int | None:
        """SIGTERM the relay; its exit code."""
        self.stopped = True
        return dict(self.supervisor.stop_all())["relay"]


def start_relay(bus: Bus, log_dir: Path, env: dict[str, str]) -> RelayProcess:
    """`clawbus relay` with the bus's env plus `env`; returns once it logged `relay.started`."""
    supervisor = stage_supervisor(
        log_dir,
        {
            **bus.env,
            "CLAWBUS_RELAY__BACKOFF_INITIAL_S": "0.05",
            "CLAWBUS_RELAY__BACKOFF_MAX_S": "0.5",
            "CLAWBUS_SESSION__DM_SCOPE": "per-channel-peer",
            **env,
        },
    )
    supervisor.start_all([stage("relay", "relay.started", "relay")])
    return RelayProcess(bus, supervisor, log_dir)


@pytest.fixture
def relay_runner(tmp_path: Path) -> Iterator[list[RelayProcess]]:
    """Relays a test starts (append them); each must exit 0 on SIGTERM afterwards."""
    started: list[RelayProcess] = []
    yield started
    for relay in started:
        if not relay.stopped:
            assert relay.stop() == 0, f"relay did not exit cleanly; log in {relay.log_dir}"
