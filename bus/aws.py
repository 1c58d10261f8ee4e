"""AWS clients, made in one place, and the translation of their errors into ours.

Stages use aiobotocore: one session per process and one client per service, opened at startup inside
an `AsyncExitStack` and reused for every message. The CLI, the provisioner and test setup use boto3.
Both point at `settings.aws.endpoint_url` when it is set, so the same code talks to AWS and to the
loopback API of the embedded default. A loopback endpoint accepts only the key pair of its `clawbus up`
run (`local.auth`): clients sign requests to it with `settings.aws.access_key_id`/`secret_access_key`
when set, else with whatever botocore finds (`AWS_ACCESS_KEY_ID`, a profile); AWS itself always gets
botocore's own credentials, never the loopback pair.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import boto3
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from clawbus.bus.errors import (
    ClawbusError,
    DeadlineExceeded,
    PermanentError,
    TargetGone,
    Throttled,
    Unauthorized,
    Unavailable,
)
from clawbus.bus.settings import AwsSettings, Settings

if TYPE_CHECKING:
    from types_aiobotocore_bedrock_agentcore import BedrockAgentCoreClient
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_scheduler import EventBridgeSchedulerClient
    from types_aiobotocore_secretsmanager import SecretsManagerClient
    from types_aiobotocore_sns import SNSClient
    from types_aiobotocore_sqs import SQSClient
    from types_aiobotocore_ssm import SSMClient


_THROTTLE_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "SlowDown",
    "ServiceQuotaExceededException",
}
_GONE_CODES = {
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "NotFound",
    "NotFoundException",
    "ResourceNotFoundException",
    "NoSuchBucket",
}
_DENIED_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
}


def is_loopback_host(host: str | None) -> bool:
    """Whether `host` is this machine's loopback (`localhost`, 127.0.0.0/8, ::1)."""
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback(endpoint_url: str | None) -> bool:
    """Whether an endpoint URL points at this machine (the embedded default)."""
    return endpoint_url is not None and is_loopback_host(urlparse(endpoint_url).hostname)


def _credentials(aws: AwsSettings, endpoint_url: str | None) -> dict[str, str]:
    """Explicit credentials for a client of `endpoint_url`: the loopback pair, for a loopback endpoint."""
    if not is_loopback(endpoint_url) or not aws.access_key_id or aws.secret_access_key is None:
        return {}
    return {
        "aws_access_key_id": aws.access_key_id,
        "aws_secret_access_key": aws.secret_access_key.get_secret_value(),
    }


def boto3_client(settings: AwsSettings, service: str, endpoint_url: str | None = None) -> Any:
    """A synchronous boto3 client (CLI, provisioning, tests); `endpoint_url` overrides the setting."""
    url = endpoint_url or settings.endpoint_url
    session = boto3.session.Session(profile_name=None if is_loopback(url) else settings.profile)
    config = Config(
        connect_timeout=settings.connect_timeout_s,
        read_timeout=settings.read_timeout_s,
        retries={"max_attempts": 3, "mode": "standard"},
    )
    return session.client(  # type: ignore[call-overload]  # service is a runtime string
        service, region_name=settings.region, endpoint_url=url, config=config, **_credentials(settings, url)
    )


@dataclass
class AwsClients:
    """The async clients a stage uses; only the ones it asked for are opened.

    `requests` counts the HTTP requests each client has sent (retries included), for health reports
    and `clawbus bench`'s requests-per-turn figure.
    """

    sqs: SQSClient | None = None
    sns: SNSClient | None = None
    dynamodb: DynamoDBClient | None = None
    s3: S3Client | None = None
    agentcore: BedrockAgentCoreClient | None = None
    scheduler: EventBridgeSchedulerClient | None = None
    secretsmanager: SecretsManagerClient | None = None
    ssm: SSMClient | None = None
    requests: dict[str, int] = field(default_factory=dict)

    def _counter(self, service: str) -> Any:
        self.requests[service] = 0

        def count(**_kwargs: Any) -> None:
            self.requests[service] += 1

        return count


@contextlib.asynccontextmanager
async def open_clients(settings: Settings, *services: str) -> AsyncIterator[AwsClients]:
    """Open one aiobotocore client per service for the life of the block.

    `services` are attribute names of `AwsClients`; `agentcore` uses `settings.agentcore.endpoint_url`
    and its long read timeout (turns can take minutes), the others `settings.aws`.
    """
    session = get_session()
    aws = settings.aws
    clients = AwsClients()
    async with AsyncExitStack() as stack:
        for service in services:
            if service == "agentcore":
                url = settings.agentcore.endpoint_url
                read_timeout = settings.agentcore.read_timeout_s
                name = "bedrock-agentcore"
                retries = {"total_max_attempts": 1, "mode": "standard"}  # one call: we classify and retry
            else:
                url = aws.endpoint_url
                read_timeout = aws.read_timeout_s
                name = service
                retries = {"max_attempts": 3, "mode": "standard"}
            config = AioConfig(
                connect_timeout=aws.connect_timeout_s,
                read_timeout=read_timeout,
                max_pool_connections=aws.max_pool_connections,
                retries=retries,
            )
            client = await stack.enter_async_context(
                session.create_client(  # type: ignore[call-overload]  # service is a runtime string
                    name, region_name=aws.region, endpoint_url=url, config=config, **_credentials(aws, url)
                )
            )
            client.meta.events.register("before-send", clients._counter(service))
            setattr(clients, service, client)
        yield clients


def classify_client_error(exc: ClientError, what: str) -> ClawbusError:
    """Turn a botocore `ClientError` into one of ours, keeping the error code in the message."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    detail = f"{what}: {code} ({status})"
    if code in _THROTTLE_CODES or status == 429:
        return Throttled(detail)
    if code in _GONE_CODES or status == 404:
        return TargetGone(detail)
    if code in _DENIED_CODES or status in (401, 403):
        return Unauthorized(detail)
    if status >= 500 or status == 0:
        return Unavailable(detail)
    return PermanentError(detail)


@contextlib.contextmanager
def map_aws_errors(what: str) -> Iterator[None]:
    """Translate botocore errors raised inside the block into clawbus errors (`what` names the call)."""
    try:
        yield
    except ClientError as exc:
        raise classify_client_error(exc, what) from exc
    except (ConnectTimeoutError, ReadTimeoutError) as exc:
        raise DeadlineExceeded(f"{what}: timed out") from exc
    except (EndpointConnectionError, ConnectionClosedError) as exc:
        raise Unavailable(f"{what}: cannot reach the endpoint ({exc})") from exc
    except NoCredentialsError as exc:
        raise Unauthorized(
            f"{what}: no AWS credentials — set AWS_PROFILE or AWS_ACCESS_KEY_ID; for the embedded "
            "default, run 'clawbus up' (it writes <data dir>/local-aws-credentials, which clawbus "
            "commands read) or set CLAWBUS_AWS__ACCESS_KEY_ID and CLAWBUS_AWS__SECRET_ACCESS_KEY"
        ) from exc
