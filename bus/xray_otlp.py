"""Spans straight to X-Ray's OTLP endpoint, signed with SigV4: how every stage exports in AWS.

The ingress and egress Lambdas are container images (no ADOT Lambda layer) and the agent runs on AgentCore
Runtime (no sidecar), so they cannot hand spans to a local collector. The ECS tasks could, but a collector
sidecar's `awsxray` exporter goes through X-Ray's segment API, which drops spans whose trace id does not
start with a recent Unix time (our ids are random W3C ids; opentelemetry-collector-contrib PR #26553), and
it is one more container per task; so they export the same way as the rest. X-Ray accepts OTLP/HTTP
protobuf, W3C trace ids included, at `https://xray.<region>.amazonaws.com/v1/traces` once CloudWatch
Transaction Search is enabled on the account, provided each request is signed with SigV4 for the service
`xray` (the ADOT collector's `sigv4auth` extension and aws-opentelemetry-distro's `OTLPAwsSpanExporter`
do the same).

Why not aws-opentelemetry-distro itself: its newest release (0.21.0) pins opentelemetry-api/sdk and the
OTLP exporter to 1.44.0, below our 1.45.2, and pulls in about fifty auto-instrumentation packages plus
grpcio. What it adds for traces is one thing: a signed `requests.Session`. So this module is that and no
more: the SDK's own `OTLPSpanExporter` (retries, timeouts, compression, the OTEL_* variables) with a
`requests` auth hook that signs each prepared request with botocore's `SigV4Auth`, using the stage's own
credentials chain (environment, profile, container or Lambda role), refreshed as botocore refreshes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.session import Session as BotocoreSession
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

from clawbus.bus.errors import ConfigError

if TYPE_CHECKING:
    from botocore.credentials import Credentials

SERVICE = "xray"
# The request headers that say what the body is: signed, so nothing on the way can change their meaning.
# The transport's own headers (User-Agent, Accept-Encoding, Connection) are left out, as AWS SDKs do.
_SIGNED_CONTENT_HEADERS = ("Content-Type", "Content-Encoding")


def xray_traces_endpoint(region: str) -> str:
    """X-Ray's OTLP traces endpoint in `region` (CloudWatch Transaction Search must be on)."""
    return f"https://xray.{region}.amazonaws.com/v1/traces"


class SigV4RequestAuth(requests.auth.AuthBase):
    """Signs each request as botocore would sign an API call to `service` in `region`."""

    def __init__(self, credentials: Credentials, region: str, service: str = SERVICE) -> None:
        self._credentials = credentials
        self._region = region
        self._service = service

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        headers = {name: request.headers[name] for name in _SIGNED_CONTENT_HEADERS if name in request.headers}
        body = request.body.encode() if isinstance(request.body, str) else request.body
        signed = AWSRequest(method=request.method, url=request.url, data=body, headers=headers)
        frozen = self._credentials.get_frozen_credentials()  # a role's keys rotate: read them per request
        SigV4Auth(frozen, self._service, self._region).add_auth(signed)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in signed.headers:
                request.headers[name] = signed.headers[name]
        return request


def xray_span_exporter(endpoint: str, region: str, profile: str | None = None) -> OTLPSpanExporter:
    """An OTLP/HTTP span exporter to `endpoint` whose every request is SigV4-signed for X-Ray in `region`.

    Raises:
        ConfigError: no AWS credentials can be found (nothing could be signed).
    """
    credentials = BotocoreSession(profile=profile).get_credentials()
    if credentials is None:
        raise ConfigError("tracing.export=xray needs AWS credentials to sign spans, and none were found")
    session = requests.Session()
    session.auth = SigV4RequestAuth(credentials, region)
    return OTLPSpanExporter(endpoint=endpoint, session=session)
