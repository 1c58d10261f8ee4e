"""Typed client bundles: one per use, every client opened, requests counted per service."""

from __future__ import annotations

import dataclasses

import pytest

from clawbus.bus.clients import (
    AgentStoreClients,
    BusClients,
    ConfigClients,
    CronClients,
    DispatcherClients,
    EgressClients,
    IngressClients,
    QueueClients,
    SecretClients,
    open_stage_clients,
)
from clawbus.bus.settings import BusSettings, Settings
from clawbus.bus.topology import inbound_queue_name
from tests.conftest import Bus


async def test_a_bundle_opens_each_of_its_clients_and_counts_their_requests(bus: Bus) -> None:
    settings = Settings(aws=bus.aws, bus=BusSettings(prefix=bus.prefix))
    requests: dict[str, int] = {}
    async with open_stage_clients(settings, CronClients, requests) as clients:
        url = (await clients.sqs.get_queue_url(QueueName=inbound_queue_name(bus.prefix)))["QueueUrl"]
        tables = (await clients.dynamodb.list_tables())["TableNames"]
        groups = (await clients.scheduler.list_schedule_groups())["ScheduleGroups"]
    assert url.endswith(inbound_queue_name(bus.prefix))
    assert f"{bus.prefix}-cron" in tables
    assert groups
    assert requests == {"scheduler": 1, "dynamodb": 1, "sqs": 1}


async def test_a_bundle_is_frozen_so_a_stage_cannot_swap_a_client(bus: Bus) -> None:
    async with open_stage_clients(Settings(aws=bus.aws), QueueClients) as clients:
        with pytest.raises(dataclasses.FrozenInstanceError):
            clients.sqs = clients.sqs  # type: ignore[misc]


def test_every_bundle_names_only_services_a_client_can_be_opened_for() -> None:
    services = {"sqs", "sns", "dynamodb", "s3", "agentcore", "scheduler", "secretsmanager", "ssm"}
    bundles = (
        IngressClients,
        DispatcherClients,
        EgressClients,
        CronClients,
        AgentStoreClients,
        SecretClients,
        ConfigClients,
        QueueClients,
        BusClients,
    )
    for bundle in bundles:
        assert {f.name for f in dataclasses.fields(bundle)} <= services, bundle.__name__
