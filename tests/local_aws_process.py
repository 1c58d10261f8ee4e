"""`clawbus local-aws --state-file` as a child process, started, killed and restarted as `up` does.

One class for every test that restarts the loopback AWS API (its own state tests, the chaos pipeline):
it keeps its port across restarts, so clients configured once see an outage and then the same endpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3

from clawbus.local.supervisor import Supervisor
from tests.conftest import CREDENTIALS_ENV, LOCAL_AWS, SECRET
from tests.helpers import free_port, stage, stage_supervisor


class LocalAwsProcess:
    """The loopback AWS API with a state file under `data_dir`, snapshots every `interval_s` (0: at stop
    only) and its journal in between."""

    def __init__(self, data_dir: Path, interval_s: float = 0, dedup_window_s: float = 300) -> None:
        self.state_file = data_dir / "aws-state.pickle"
        self.interval_s = interval_s
        self.dedup_window_s = dedup_window_s
        self.supervisor: Supervisor = stage_supervisor(data_dir / "logs", CREDENTIALS_ENV)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start it (again, on the same port) and wait until it serves."""
        args = ("--port", str(self.port), "--state-file", str(self.state_file))
        interval = ("--snapshot-interval", str(self.interval_s), "--dedup-window", str(self.dedup_window_s))
        self.supervisor.start(stage("local-aws", "local_aws.started", "local-aws", *args, *interval))

    def kill(self) -> None:
        """kill -9: no save at stop (the machine goes down)."""
        self.supervisor.kill("local-aws")

    def stop(self) -> None:
        """SIGTERM (it saves its state)."""
        self.supervisor.stop_all()

    def log(self) -> list[dict[str, Any]]:
        """Its structured log lines."""
        path = self.supervisor.log_dir / "local-aws.log"
        return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]

    def client(self, service: str) -> Any:
        """A boto3 client of `service` for it, with the only key pair it accepts."""
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=LOCAL_AWS.access_key_id,
            aws_secret_access_key=SECRET,
        )
