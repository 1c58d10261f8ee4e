"""boto3 clients, the loopback credentials, and the translation of AWS errors into ours.

The stages' async clients are opened as typed bundles by `bus.clients`; the CLI, the provisioner and
test setup use `boto3_client`. Both point at `settings.aws.endpoint_url` when it is set, so the same
code talks to AWS and to the loopback API of the embedded default. A loopback endpoint accepts only the
key pair of its `clawbus up` run (`local.auth`): clients sign requests to it with
`settings.aws.access_key_id`/`secret_access_key` when set, else with whatever botocore finds
(`AWS_ACCESS_KEY_ID`, a profile); AWS itself always gets botocore's own credentials, never the loopback
pair.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal, overload
from urllib.parse import urlparse

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
from clawbus.bus.settings import AwsSettings

if TYPE_CHECKING:
    import mypy_boto3_bedrock_agentcore
    import mypy_boto3_dynamodb
    import mypy_boto3_s3
    import mypy_boto3_scheduler
    import mypy_boto3_secretsmanager
    import mypy_boto3_sns
    import mypy_boto3_sqs
    import mypy_boto3_ssm
    from botocore.client import BaseClient
    from botocore.loaders import Loader


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


def credentials_for(aws: AwsSettings, endpoint_url: str | None) -> dict[str, str]:
    """Explicit credentials for a client of `endpoint_url`: the loopback pair, for a loopback endpoint
    (used by `boto3_client` here and by `bus.clients` for the stages' async clients)."""
    if not is_loopback(endpoint_url) or not aws.access_key_id or aws.secret_access_key is None:
        return {}
    return {
        "aws_access_key_id": aws.access_key_id,
        "aws_secret_access_key": aws.secret_access_key.get_secret_value(),
    }


@functools.cache
def shared_loader() -> Loader:
    """This process's one botocore loader (service models, endpoint rules, partitions, each parsed once):
    every session, boto3's (`boto3_client`) and aiobotocore's (`bus.clients.aws_session`), reads through
    it. A session of its own parses them again: 0.1 to 0.2 CPU-s per session, and `clawbus up` makes
    five boto3 clients, then the configuration document's and the heartbeats' async ones."""
    import botocore.session

    loader: Loader = botocore.session.get_session().get_component("data_loader")
    return loader


@overload
def boto3_client(
    settings: AwsSettings, service: Literal["sqs"], endpoint_url: str | None = None
) -> mypy_boto3_sqs.SQSClient: ...
@overload
def boto3_client(
    settings: AwsSettings, service: Literal["sns"], endpoint_url: str | None = None
) -> mypy_boto3_sns.SNSClient: ...
@overload
def boto3_client(
    settings: AwsSettings, service: Literal["dynamodb"], endpoint_url: str | None = None
) -> mypy_boto3_dynamodb.DynamoDBClient: ...
@overload
def boto3_client(
    settings: AwsSettings, service: Literal["s3"], endpoint_url: str | None = None
) -> mypy_boto3_s3.S3Client: ...
@overload
def boto3_client(
    settings: AwsSettings, service: Literal["scheduler"], endpoint_url: str | None = None
) -> mypy_boto3_scheduler.EventBridgeSchedulerClient: ...
@overload
def boto3_client(
    settings: AwsSettings, service: Literal["ssm"], endpoint_url: str | None = None
) -> mypy_boto3_ssm.SSMClient: ...
@overload
def boto3_client(
    settings: AwsSettings, service: Literal["secretsmanager"], endpoint_url: str | None = None
) -> mypy_boto3_secretsmanager.SecretsManagerClient: ...
@overload
def boto3_client(
    settings: AwsSettings, service: Literal["bedrock-agentcore"], endpoint_url: str | None = None
) -> mypy_boto3_bedrock_agentcore.BedrockAgentCoreClient: ...
@overload
def boto3_client(settings: AwsSettings, service: str, endpoint_url: str | None = None) -> BaseClient: ...
def boto3_client(settings: AwsSettings, service: str, endpoint_url: str | None = None) -> Any:
    """A synchronous boto3 client (CLI, provisioning, tests); `endpoint_url` overrides the setting.

    Typed per service (the mypy_boto3 stubs of the dev extra) when `service` is a literal; a service
    named at run time (the operator's `OpsTarget.client`) gets botocore's `BaseClient`.
    """
    import boto3.session  # here: the stages' async clients need botocore only, not boto3 (s3transfer)
    import botocore.session

    url = endpoint_url or settings.endpoint_url
    loader = shared_loader()
    core = botocore.session.get_session()
    core.register_component("data_loader", loader)  # its own would parse every model again
    profile = None if is_loopback(url) else settings.profile
    session = boto3.session.Session(botocore_session=core, profile_name=profile)
    # boto3 adds its own data folder (resource models) to the loader with each session: once is enough
    loader.search_paths[:] = list(dict.fromkeys(loader.search_paths))
    config = Config(
        connect_timeout=settings.connect_timeout_s,
        read_timeout=settings.read_timeout_s,
        retries={"max_attempts": 3, "mode": "standard"},
    )
    return session.client(  # type: ignore[call-overload]  # service is a runtime string
        service,
        region_name=settings.region,
        endpoint_url=url,
        config=config,
        **credentials_for(settings, url),
    )


def was_retried(error: ClientError) -> bool:
    """Whether botocore sent the request that failed with `error` more than once: an earlier attempt may
    have landed although its answer was lost (a read timeout, a reset after the request went out)."""
    return int(error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)) > 0


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
