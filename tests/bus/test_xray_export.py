"""`tracing.export=xray`: a stage with no collector sends its spans to X-Ray's OTLP endpoint itself, each
request SigV4-signed for the service `xray` with the stage's own credentials; off, nothing leaves.

A loopback HTTP server stands in for X-Ray: it keeps every request, and the test checks the signature the
way X-Ray would, by signing the same request again with botocore and the same (fake) credentials.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from clawbus.bus.errors import ConfigError
from clawbus.bus.settings import AwsSettings, TracingSettings
from clawbus.bus.tracing import plan_export, span_processor
from tests.otlp_receiver import OtlpReceiver, Received, otlp_receiver

ACCESS_KEY = "AKIDCLAWBUSTEST00001"
SECRET_KEY = "clawbus/test/secret/key/that/is/fake/000"  # made up: the server is a loopback stand-in
SESSION_TOKEN = "clawbus-test-session-token"
REGION = "eu-west-1"
AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/"
    r"aws4_request, SignedHeaders=(?P<signed>[^,]+), Signature=(?P<signature>[0-9a-f]{64})"
)


@dataclass(frozen=True)
class StandIn:
    """A loopback X-Ray OTLP endpoint that answers 200 to everything and keeps what it got."""

    receiver: OtlpReceiver

    @property
    def url(self) -> str:
        return f"{self.receiver.url}/v1/traces"

    @property
    def requests(self) -> list[Received]:
        return self.receiver.requests


@pytest.fixture
def xray() -> Iterator[StandIn]:
    with otlp_receiver() as receiver:
        yield StandIn(receiver)


@pytest.fixture
def stage_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The credentials a Lambda's runtime puts in its environment (fake ones)."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)


def _expected_signature(received: Received, url: str, signed_headers: list[str]) -> str:
    """What X-Ray computes for this request: botocore's SigV4 over the same method, URL, body and signed
    headers, at the request's own X-Amz-Date."""
    headers = {name: received.headers[name] for name in signed_headers if name != "host"}
    request = AWSRequest(method="POST", url=url, data=received.body, headers=headers)
    request.context["timestamp"] = received.headers["x-amz-date"]
    signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN), "xray", REGION)
    return signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)


def _span_names(body: bytes) -> list[str]:
    request = ExportTraceServiceRequest.FromString(body)
    return [span.name for rs in request.resource_spans for scope in rs.scope_spans for span in scope.spans]


@pytest.mark.usefixtures("stage_credentials")
def test_xray_export_posts_spans_signed_with_sigv4_for_the_xray_service(xray: StandIn) -> None:
    tracing = TracingSettings(export="xray", xray_endpoint=xray.url)
    processor = span_processor({}, tracing, AwsSettings(region=REGION))
    assert processor is not None
    provider = TracerProvider(resource=Resource.create({"service.name": "clawbus-egress"}))
    provider.add_span_processor(processor)
    with provider.get_tracer(__name__).start_as_current_span("egress.send"):
        pass
    provider.shutdown()  # flushes the batch

    assert len(xray.requests) == 1
    received = xray.requests[0]
    assert received.path == "/v1/traces"
    assert _span_names(received.body) == ["egress.send"]
    assert received.headers["x-amz-security-token"] == SESSION_TOKEN
    match = AUTHORIZATION.fullmatch(received.headers["authorization"])
    assert match is not None, received.headers["authorization"]
    assert (match["key"], match["region"], match["service"]) == (ACCESS_KEY, REGION, "xray")
    signed = match["signed"].split(";")
    assert {"content-type", "host", "x-amz-date", "x-amz-security-token"} <= set(signed)
    assert match["signature"] == _expected_signature(received, xray.url, signed)


@pytest.mark.usefixtures("stage_credentials")
def test_a_lambda_sends_each_span_as_it_ends(xray: StandIn) -> None:
    """A Lambda may be frozen right after it answers: its span is at X-Ray before the handler returns."""
    tracing = TracingSettings(export="xray", xray_endpoint=xray.url)
    processor = span_processor({"AWS_LAMBDA_FUNCTION_NAME": "p-ingress"}, tracing, AwsSettings(region=REGION))
    assert processor is not None
    provider = TracerProvider()
    provider.add_span_processor(processor)
    with provider.get_tracer(__name__).start_as_current_span("ingress.receive"):
        pass
    assert [_span_names(r.body) for r in xray.requests] == [["ingress.receive"]]


def test_xray_goes_to_the_regions_own_otlp_endpoint_by_default() -> None:
    plan = plan_export(TracingSettings(export="xray"), "ap-southeast-2", {})
    assert plan is not None
    assert plan.endpoint == "https://xray.ap-southeast-2.amazonaws.com/v1/traces"
    assert plan.sign_region == "ap-southeast-2"


def test_nothing_is_exported_when_tracing_is_off() -> None:
    endpoint = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    assert span_processor(endpoint, TracingSettings(export="none")) is None
    assert span_processor({}, TracingSettings(export="otlp")) is None  # the default, with no endpoint


def test_xray_export_without_credentials_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", f"{tmp_path}/none")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", f"{tmp_path}/none")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(ConfigError, match="credentials"):
        span_processor({}, TracingSettings(export="xray"), AwsSettings(region=REGION))
