"""The async AWS clients each use of them needs, as one typed bundle per use.

A bundle is a frozen dataclass whose field names are the services it opens (`agentcore` stands for
`bedrock-agentcore`); `open_stage_clients(settings, DispatcherClients)` reads the fields, opens one
aiobotocore client per field for the life of the block and hands back the bundle. Nothing in a bundle
is optional, so code that holds one never checks which clients were opened: a use that needs another
client gets another bundle (a few lines), not an `X | None` everyone must assert away.

Stages use aiobotocore: one session per process and one client per service, opened at startup inside
an `AsyncExitStack` and reused for every message. `agentcore` uses `settings.agentcore.endpoint_url`,
its long read timeout (turns can take minutes) and a single attempt (the dispatcher classifies and
retries); the others use `settings.aws` and botocore's standard retries.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session

from clawbus.bus.aws import credentials_for, shared_loader
from clawbus.bus.settings import Settings

if TYPE_CHECKING:
    from _typeshed import DataclassInstance
    from types_aiobotocore_bedrock_agentcore import BedrockAgentCoreClient
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_scheduler import EventBridgeSchedulerClient
    from types_aiobotocore_secretsmanager import SecretsManagerClient
    from types_aiobotocore_sns import SNSClient
    from types_aiobotocore_sqs import SQSClient
    from types_aiobotocore_ssm import SSMClient

Bundle = TypeVar("Bundle", bound="DataclassInstance")

# Field names that are not botocore's service names.
_SERVICE_NAMES = {"agentcore": "bedrock-agentcore"}


@dataclass(frozen=True, slots=True)
class IngressClients:
    """Ingress (HTTP app, relay): enqueue to SQS, publish inbound to SNS, dedup and pairing in DynamoDB,
    the files replies send to WebChat from S3."""

    sqs: SQSClient
    sns: SNSClient
    dynamodb: DynamoDBClient
    s3: S3Client


@dataclass(frozen=True, slots=True)
class DispatcherClients:
    """The dispatcher: the inbound queue, the outbound topic, its ledgers, claim-checks and AgentCore."""

    sqs: SQSClient
    sns: SNSClient
    dynamodb: DynamoDBClient
    s3: S3Client
    agentcore: BedrockAgentCoreClient


@dataclass(frozen=True, slots=True)
class EgressClients:
    """Egress: the outbound queue, the sent ledger and claim-checked bodies."""

    sqs: SQSClient
    dynamodb: DynamoDBClient
    s3: S3Client


@dataclass(frozen=True, slots=True)
class CronClients:
    """Cron jobs and heartbeats (firer, cron service, the agent's cron tool, OpenClaw's callback, the
    CLI): schedules, their records, and the inbound queue a fire lands on."""

    scheduler: EventBridgeSchedulerClient
    dynamodb: DynamoDBClient
    sqs: SQSClient


@dataclass(frozen=True, slots=True)
class AgentStoreClients:
    """The agent's stores: session index and transcripts (DynamoDB), workspace and blobs (S3)."""

    dynamodb: DynamoDBClient
    s3: S3Client


@dataclass(frozen=True, slots=True)
class SecretClients:
    """The secret store (Secrets Manager)."""

    secretsmanager: SecretsManagerClient


@dataclass(frozen=True, slots=True)
class ConfigClients:
    """The configuration document (SSM or S3, by `CLAWBUS_STORAGE__CONFIG`) and the channels' secrets."""

    ssm: SSMClient
    s3: S3Client
    secretsmanager: SecretsManagerClient


@dataclass(frozen=True, slots=True)
class QueueClients:
    """SQS alone: the operator's dashboard and `clawbus bench`'s feeders."""

    sqs: SQSClient


@dataclass(frozen=True, slots=True)
class BusClients:
    """SQS and SNS: `clawbus bench`'s collectors and relay."""

    sqs: SQSClient
    sns: SNSClient


def aws_session() -> AioSession:
    """An aiobotocore session whose botocore loader (service models, endpoint rules, partitions) is this
    process's one: each new session otherwise parses them again, 0.1 to 0.2 CPU-s of a stage's start per
    session; with `warm_models` run before a fork, the forked process parses none of them."""
    session = get_session()
    session.register_component("data_loader", shared_loader())
    return session


# What the stages' clients read at creation: botocore's own data, then each service's model and rules.
_GENERIC_DATA = ("_retry", "endpoints", "partitions", "sdk-default-configuration")
SERVICES = ("sqs", "sns", "dynamodb", "s3", "ssm", "secretsmanager", "scheduler", "bedrock-agentcore")


def warm_models(services: tuple[str, ...] = SERVICES) -> None:
    """Parse what creating a client of each of `services` reads, into the shared loader's cache."""
    loader = shared_loader()
    for name in _GENERIC_DATA:
        loader.load_data(name)
    for service in services:
        loader.load_service_model(service, "service-2")
        loader.load_service_model(service, "endpoint-rule-set-1")


def _create_client(session: AioSession, settings: Settings, field_name: str) -> Any:
    """The (unentered) client context for one bundle field."""
    aws = settings.aws
    if field_name == "agentcore":
        url = settings.agentcore.endpoint_url
        read_timeout = settings.agentcore.read_timeout_s
        retries = {"total_max_attempts": 1, "mode": "standard"}  # one call: we classify and retry
    else:
        url = aws.endpoint_url
        read_timeout = aws.read_timeout_s
        retries = {"max_attempts": 3, "mode": "standard"}
    config = AioConfig(
        connect_timeout=aws.connect_timeout_s,
        read_timeout=read_timeout,
        max_pool_connections=aws.max_pool_connections,
        retries=retries,
    )
    # Plain HTTP (the loopback APIs) has no certificate to verify: left on, aiobotocore loads certifi's
    # whole bundle for each client's first request anyway (0.05-0.09 CPU-s, in each stage's first turn).
    plain = {"verify": False} if url is not None and url.startswith("http://") else {}
    return session.create_client(  # type: ignore[call-overload]  # the service is a field name
        _SERVICE_NAMES.get(field_name, field_name),
        region_name=aws.region,
        endpoint_url=url,
        config=config,
        **credentials_for(aws, url),
        **plain,
    )


def _count_into(requests: dict[str, int], field_name: str) -> Callable[..., None]:
    requests[field_name] = 0

    def count(event_name: str = "", **_kwargs: Any) -> None:
        requests[field_name] += 1
        operation = f"{field_name}.{event_name.rsplit('.', 1)[-1]}"  # before-send.<service>.<Operation>
        requests[operation] = requests.get(operation, 0) + 1

    return count


def request_counts(requests: dict[str, int]) -> dict[str, dict[str, int]]:
    """`open_stage_clients`' counts as a health report shows them: `aws_requests` by service, and
    `aws_requests_by_operation` (`dynamodb.PutItem`, `sqs.ReceiveMessage`, …)."""
    return {
        "aws_requests": {k: v for k, v in requests.items() if "." not in k},
        "aws_requests_by_operation": {k: v for k, v in sorted(requests.items()) if "." in k},
    }


@contextlib.asynccontextmanager
async def open_stage_clients(
    settings: Settings, bundle: type[Bundle], requests: dict[str, int] | None = None
) -> AsyncIterator[Bundle]:
    """Open one client per field of `bundle` for the life of the block; the bundle holding them.

    `requests`, when given, counts the HTTP requests each client sends (retries included) by field
    name and by `<field>.<Operation>` (`request_counts` splits them), for health reports and
    `clawbus bench`'s requests-per-turn figures.
    """
    session = aws_session()
    async with AsyncExitStack() as stack:
        opened = {}
        for field in dataclasses.fields(bundle):
            client = await stack.enter_async_context(_create_client(session, settings, field.name))
            if requests is not None:
                client.meta.events.register("before-send", _count_into(requests, field.name))
            opened[field.name] = client
        yield bundle(**opened)


@dataclass(frozen=True, slots=True)
class UploadClients:
    """WebChat's file uploads (issue 20): the state bucket alone."""

    s3: S3Client
