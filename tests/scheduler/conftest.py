"""Cron service and firer on the loopback AWS API, in this process (the shells under test, real wire)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from clawbus.bus.clients import CronClients, open_stage_clients
from clawbus.bus.settings import Settings
from clawbus.bus.topology import cron_table_name, schedule_group_name
from clawbus.scheduler.firer import Firer
from clawbus.storage.cron.records import CronRecords
from clawbus.storage.cron.schedules import Schedules
from clawbus.storage.cron.service import CronService, connect
from tests.conftest import Bus, Pipeline, _run_pipeline


class Clock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def catch_up(self) -> None:
        """Move to the real time: the loopback API stamps a schedule's creation (its rate anchor) with
        the wall clock, which a slow setup leaves seconds ahead of this clock."""
        self.now = max(self.now, datetime.now(UTC))

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class Cron:
    """The cron service and a firer sharing one fake clock."""

    bus: Bus
    settings: Settings
    clients: CronClients
    service: CronService
    clock: Clock

    def firer(self) -> Firer:
        """A fresh firer (as after a restart) on the same clock."""
        prefix = self.bus.prefix
        return Firer(
            Schedules(self.clients.scheduler, schedule_group_name(prefix)),
            self.clients.dynamodb,
            self.clients.sqs,
            cron_table_name(prefix),
            clock=self.clock,
            lease_s=30,
        )

    @property
    def records(self) -> CronRecords:
        return CronRecords(self.clients.dynamodb, cron_table_name(self.bus.prefix))

    @property
    def schedules(self) -> Schedules:
        return Schedules(self.clients.scheduler, schedule_group_name(self.bus.prefix))

    def inbound(self) -> list[str]:
        """Bodies waiting on the inbound queue (received and left for nobody else)."""
        sqs = self.bus.client("sqs")
        url = self.bus.queue_url(f"{self.bus.prefix}-inbound.fifo")
        bodies = []
        while True:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            if not got.get("Messages"):
                return bodies
            for message in got["Messages"]:
                bodies.append(message["Body"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
async def cron(bus: Bus) -> AsyncIterator[Cron]:
    settings = Settings.model_validate(
        {"aws": {"endpoint_url": bus.endpoint, "region": "us-east-1"}, "bus": {"prefix": bus.prefix}}
    )
    clock = Clock()
    async with open_stage_clients(settings, CronClients) as clients:
        service = await connect(settings, clients, clock)
        yield Cron(bus, settings, clients, service, clock)


# The agent of `cron_pipeline`: the offline model turns `/cron {json}` into a cron call (a test device,
# off by default). WebChat turns carry the run's token, so they are the owner's: trusted, every tool.
CRON_AGENT_ENV = {"CLAWBUS_AGENT__DEV_TOOL_SYNTAX": "true"}


@pytest.fixture
def cron_pipeline(bus: Bus, tmp_path: Path) -> Iterator[Pipeline]:
    """The pipeline (as `pipeline`) with an agent a WebChat message can drive the cron tool of."""
    yield from _run_pipeline(bus, tmp_path / "logs", agent_env=CRON_AGENT_ENV)
