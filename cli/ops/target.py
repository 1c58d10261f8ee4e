"""Which deployment an ops command talks to, and the one place its AWS errors become ours.

An `OpsTarget` is an endpoint (the loopback API, or AWS itself), a region, a profile and a prefix; every
queue name comes from `build_topology(prefix)`. Resolving the queues is also how a wrong prefix or an
unreachable endpoint is found: the first queue that does not resolve names the flag to fix.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from botocore.exceptions import (
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

from clawbus.bus.aws import boto3_client, is_loopback, map_aws_errors
from clawbus.bus.errors import ConfigError, TargetGone, Unauthorized, Unavailable
from clawbus.bus.settings import AwsSettings
from clawbus.bus.topology import Topology, build_topology

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


@dataclass(frozen=True)
class OpsTarget:
    """A deployment: where its AWS API is and what its resources are called."""

    aws: AwsSettings
    prefix: str

    @property
    def where(self) -> str:
        """The endpoint in words, for messages."""
        return self.aws.endpoint_url or f"AWS ({self.aws.region})"

    @property
    def loopback(self) -> bool:
        """Whether this is the embedded default's loopback API."""
        return is_loopback(self.aws.endpoint_url)

    def check_listening(self, timeout_s: float = 1.0) -> None:
        """For the loopback API: fail at once when nothing listens there, instead of after botocore's
        connection retries (seconds of silence for a `clawbus up` that is not running). AWS itself is not
        probed.

        Raises:
            Unavailable: nothing accepts connections at the loopback endpoint.
        """
        if not self.loopback or self.aws.endpoint_url is None:
            return
        url = urlsplit(self.aws.endpoint_url)
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            socket.create_connection((url.hostname or "127.0.0.1", port), timeout=timeout_s).close()
        except OSError as exc:
            raise Unavailable(
                f"cannot reach the endpoint {self.aws.endpoint_url}: nothing listens there "
                f"({exc.strerror or type(exc).__name__}) — is 'clawbus up' running, and is "
                "--endpoint-url right?"
            ) from exc

    def topology(self) -> Topology:
        """Every resource name of this deployment."""
        return build_topology(self.prefix)

    def client(self, service: str) -> Any:
        """A boto3 client for `service` on this target (errors are translated by `ops_errors`)."""
        with ops_errors(self, f"creating a {service} client"):
            return boto3_client(self.aws, service)

    def sqs(self) -> SQSClient:
        """The SQS client."""
        client: SQSClient = self.client("sqs")
        return client

    def queue_urls(self, sqs: SQSClient, names: list[str]) -> dict[str, str]:
        """URLs of `names`, in order; a `TargetGone` naming `--prefix` when one does not exist."""
        urls: dict[str, str] = {}
        for name in names:
            try:
                with ops_errors(self, f"GetQueueUrl {name}"):
                    urls[name] = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            except TargetGone as exc:
                raise TargetGone(
                    f"queue {name} not found at {self.where} — check --prefix (now {self.prefix!r}) and "
                    "--endpoint-url/--region, or run 'clawbus up' (embedded) / 'terraform apply' (AWS)"
                ) from exc
        return urls


def resolve_dlq(topology: Topology, name: str) -> str:
    """The full name of a dead-letter queue from what an operator types.

    Accepts `inbound`, `egress-webchat`, their `-dlq` forms, and full names with or without the prefix
    and `.fifo`. Raises `ConfigError` listing the known DLQs when nothing matches.
    """
    dlqs = [q.name for q in topology.queues if q.is_dlq]
    short = name.removesuffix(".fifo").removeprefix(f"{topology.prefix}-").removesuffix("-dlq")
    wanted = f"{topology.prefix}-{short}-dlq.fifo"
    if wanted in dlqs:
        return wanted
    known = ", ".join(n.removeprefix(f"{topology.prefix}-").removesuffix("-dlq.fifo") for n in dlqs)
    raise ConfigError(f"unknown queue {name!r} for prefix {topology.prefix!r} — use one of: {known}")


@contextlib.contextmanager
def ops_errors(target: OpsTarget, what: str) -> Iterator[None]:
    """`map_aws_errors`, plus the errors boto raises before any request: credentials, profile, region."""
    try:
        with map_aws_errors(what):
            yield
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise Unauthorized(
            f"no AWS credentials for {target.where} — set AWS_PROFILE or pass --profile, "
            "or point --endpoint-url at the loopback API ('clawbus up' runs it on http://127.0.0.1:4566)"
        ) from exc
    except ProfileNotFound as exc:
        raise ConfigError(f"AWS profile {target.aws.profile!r} not found — check --profile") from exc
    except NoRegionError as exc:
        raise ConfigError("no AWS region — pass --region or set CLAWBUS_AWS__REGION") from exc
    except Unavailable as exc:
        raise Unavailable(f"{exc} — is 'clawbus up' running, and is --endpoint-url right?") from exc
    except Unauthorized as exc:
        raise Unauthorized(f"{exc} — check the credentials/--profile for {target.where}") from exc
