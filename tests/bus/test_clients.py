"""Typed client bundles: one per use, every client opened, requests counted per service."""

from __future__ import annotations

import dataclasses

import pytest

from clawbus.bus.aws import boto3_client, shared_loader
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
    aws_session,
    open_stage_clients,
    request_counts,
)
from clawbus.bus.settings import AwsSettings, BusSettings, Settings
from clawbus.bus.topology import inbound_queue_name
from tests.conftest import Bus


async def test_a_bundle_opens_each_of_its_clients_and_counts_their_requests(bus: Bus) -> None:
    settings = Settings(aws=bus.aws, bus=BusSettings(prefix=bus.prefix))
    requests: dict[str, int] = {}
    async with open_stage_clients(settings, CronClients, requests) as clients:
        url = (await clients.sqs.get_queue_url(QueueName=inbound_queue_name(bus.prefix)))["QueueUrl"]
        # DescribeTable, not ListTables: the worker's loopback API holds every earlier test's tables, and
        # ListTables answers 100 names a page.
        table = (await clients.dynamodb.describe_table(TableName=f"{bus.prefix}-cron"))["Table"]
        groups = (await clients.scheduler.list_schedule_groups())["ScheduleGroups"]
        sqs_before = requests["sqs"]
        await clients.sqs.get_queue_url(QueueName=inbound_queue_name(bus.prefix))
    assert url.endswith(inbound_queue_name(bus.prefix))
    assert table["TableName"] == f"{bus.prefix}-cron"
    assert groups
    # Each HTTP attempt counts (botocore's own retries too, which a loaded machine can cause), so at least
    # one per call, each under its own service, and nothing for a service the bundle does not hold.
    report = request_counts(requests)
    assert set(report["aws_requests"]) == {"scheduler", "dynamodb", "sqs"}
    assert all(count >= 1 for count in report["aws_requests"].values()), requests
    assert requests["sqs"] > sqs_before
    # and by operation, which `clawbus bench` reports per turn
    by_operation = report["aws_requests_by_operation"]
    assert set(by_operation) == {"sqs.GetQueueUrl", "dynamodb.DescribeTable", "scheduler.ListScheduleGroups"}
    assert by_operation["sqs.GetQueueUrl"] == requests["sqs"]


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


def test_boto3_and_async_clients_read_one_loader_that_boto3_does_not_grow(bus: Bus) -> None:
    # `clawbus up` makes five boto3 clients, then async ones for the configuration document and the
    # heartbeats: one loader parses each service model, endpoint rules and partitions once for all of them
    clients = [boto3_client(bus.aws, "sqs"), boto3_client(bus.aws, "sqs"), boto3_client(bus.aws, "sns")]
    loader = shared_loader()
    assert aws_session().get_component("data_loader") is loader
    assert len(loader.search_paths) == len(set(loader.search_paths))  # boto3's data folder once
    url = clients[1].get_queue_url(QueueName=inbound_queue_name(bus.prefix))["QueueUrl"]
    assert url.endswith(inbound_queue_name(bus.prefix))


async def test_only_a_plain_http_endpoint_goes_without_certificate_verification() -> None:
    # the loopback APIs speak plain HTTP: nothing to verify, so no certificate store is loaded for them;
    # a TLS endpoint (AWS itself, or any https URL) is verified as always
    for url, verified in (("http://127.0.0.1:4566", False), ("https://sqs.us-east-1.amazonaws.com", True)):
        settings = Settings(aws=AwsSettings(endpoint_url=url, region="us-east-1"))
        async with open_stage_clients(settings, QueueClients) as clients:
            assert bool(clients.sqs._endpoint.http_session._verify) is verified, url
