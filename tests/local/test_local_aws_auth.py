"""The loopback AWS API answers only requests signed with its run's key pair (`local/aws_auth.py`).

What an attacker on the same machine (another user, or a web page in the user's browser) would try:
no signature, another key pair, the right key id with a guessed secret, a captured request with another
body or replayed later, moto's own `/moto-api/*`, and CORS.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from clawbus.local.auth import LoopbackCredentials
from tests.conftest import ADMIN, LOCAL_AWS, REGION, SECRET, Bus

# One harmless read per service clawbus uses, in each of the SDK's protocols (JSON, query XML, rest-xml,
# rest-json): each SDK must find the error code and the hint in the 403.
READS: dict[str, tuple[str, dict[str, Any]]] = {
    "sqs": ("list_queues", {}),
    "sns": ("list_topics", {}),
    "s3": ("list_buckets", {}),
    "dynamodb": ("list_tables", {}),
    "secretsmanager": ("list_secrets", {}),
    "ssm": ("describe_parameters", {}),
    "scheduler": ("list_schedules", {}),
}


def client(endpoint: str, service: str, key: str, secret: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
    )


def signed(
    endpoint: str, target: str, body: dict[str, Any], secret: str = SECRET, at: datetime | None = None
) -> AWSRequest:
    """A Secrets Manager JSON request signed as botocore signs it (at `at`, default now)."""
    request = AWSRequest(
        method="POST",
        url=f"{endpoint}/",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
    )
    signer = SigV4Auth(Credentials(LOCAL_AWS.access_key_id, secret), "secretsmanager", REGION)
    if at is None:
        signer.add_auth(request)
        return request
    stamp = at.strftime("%Y%m%dT%H%M%SZ")
    request.headers["X-Amz-Date"] = stamp
    request.headers["Host"] = endpoint.removeprefix("http://")
    request.context["timestamp"] = stamp
    headers = signer.headers_to_sign(request)
    signature = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    request.headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={LOCAL_AWS.access_key_id}/{signer.credential_scope(request)}, "
        f"SignedHeaders={signer.signed_headers(headers)}, Signature={signature}"
    )
    return request


def send(request: AWSRequest, body: bytes | None = None) -> httpx.Response:
    return httpx.post(
        request.url,
        content=request.data if body is None else body,
        headers=dict(request.headers.items()),
        timeout=10,
    )


@pytest.fixture
def stored_secret(bus: Bus) -> str:
    """A channel token as clawbus stores it (signed with the run's pair); its name."""
    name = f"{bus.prefix}/telegram"
    bus.client("secretsmanager").create_secret(Name=name, SecretString='{"bot_token": "123:very-secret"}')
    return name


def test_an_unsigned_request_cannot_read_a_stored_secret(bus: Bus, stored_secret: str) -> None:
    answer = httpx.post(
        f"{bus.endpoint}/",
        json={"SecretId": stored_secret},
        headers={
            "X-Amz-Target": "secretsmanager.GetSecretValue",
            "Content-Type": "application/x-amz-json-1.1",
        },
        timeout=10,
    )
    assert answer.status_code == 403
    assert "very-secret" not in answer.text
    assert answer.json()["__type"] == "MissingAuthenticationToken"
    assert "local-aws-credentials" in answer.json()["message"]  # says which credentials to use


@pytest.mark.parametrize("service", sorted(READS))
def test_another_key_pair_gets_a_403_every_sdk_reads_with_the_hint(aws_endpoint: str, service: str) -> None:
    other = LoopbackCredentials.generate()
    operation, kwargs = READS[service]
    stranger = client(aws_endpoint, service, other.access_key_id, other.secret_access_key.get_secret_value())
    with pytest.raises(ClientError) as refused:
        getattr(stranger, operation)(**kwargs)
    error = refused.value.response["Error"]
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Code"] == "InvalidClientTokenId"
    assert "local-aws-credentials" in error["Message"]
    assert "CLAWBUS_AWS__ACCESS_KEY_ID" in error["Message"]


def test_the_right_key_id_with_a_guessed_secret_is_refused(bus: Bus, stored_secret: str) -> None:
    guesser = client(bus.endpoint, "secretsmanager", LOCAL_AWS.access_key_id, "guessed")
    with pytest.raises(ClientError) as refused:
        guesser.get_secret_value(SecretId=stored_secret)
    assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    # The run's own pair reads it (the same call, signed right).
    owner = client(bus.endpoint, "secretsmanager", LOCAL_AWS.access_key_id, SECRET)
    assert "very-secret" in owner.get_secret_value(SecretId=stored_secret)["SecretString"]


def test_a_captured_request_with_another_body_is_refused(bus: Bus, stored_secret: str) -> None:
    request = signed(bus.endpoint, "secretsmanager.DescribeSecret", {"SecretId": stored_secret})
    assert send(request).status_code == 200  # as signed
    tampered = json.dumps({"SecretId": stored_secret, "x": 1}).encode()
    answer = send(request, tampered)
    assert answer.status_code == 403
    assert answer.json()["__type"] == "SignatureDoesNotMatch"


def test_a_request_signed_twenty_minutes_ago_is_refused(bus: Bus, stored_secret: str) -> None:
    body = {"SecretId": stored_secret}
    fresh = signed(bus.endpoint, "secretsmanager.DescribeSecret", body, at=datetime.now(UTC))
    assert send(fresh).status_code == 200  # the hand-made signature is right…
    stale = signed(
        bus.endpoint, "secretsmanager.DescribeSecret", body, at=datetime.now(UTC) - timedelta(minutes=20)
    )
    answer = send(stale)
    assert answer.status_code == 403  # …but not twenty minutes later
    assert answer.json()["__type"] == "RequestExpired"


def test_moto_api_needs_the_secret_and_reset_without_it_wipes_nothing(bus: Bus) -> None:
    queue = bus.topology.queues[0].name
    refused = httpx.post(f"{bus.endpoint}/moto-api/reset", timeout=10)
    assert refused.status_code == 401
    assert "Bearer" in refused.text
    wrong = httpx.get(f"{bus.endpoint}/moto-api/data.json", headers={"Authorization": "Bearer x"}, timeout=10)
    assert wrong.status_code == 401
    assert bus.client("sqs").get_queue_url(QueueName=queue)["QueueUrl"]  # still there
    assert httpx.get(f"{bus.endpoint}/moto-api/", headers=ADMIN, timeout=10).status_code == 200


def test_no_answer_lets_a_web_page_of_another_origin_in(bus: Bus) -> None:
    origin = {"Origin": "https://evil.example"}
    preflight = httpx.options(
        f"{bus.endpoint}/",
        headers={
            **origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-amz-target",
        },
        timeout=10,
    )
    assert preflight.status_code == 403
    request = signed(bus.endpoint, "secretsmanager.ListSecrets", {})
    request.headers["Origin"] = origin["Origin"]
    allowed = send(request)  # signed, so served: but still no CORS grant for the browser
    assert allowed.status_code == 200
    admin = httpx.get(f"{bus.endpoint}/moto-api/", headers={**ADMIN, **origin}, timeout=10)
    for answer in (preflight, allowed, admin):
        assert not [h for h in answer.headers if h.lower().startswith("access-control-")], answer.headers


def test_an_s3_upload_whose_body_is_not_the_signed_one_is_refused(bus: Bus) -> None:
    bucket = bus.topology.buckets[0].name
    url = f"{bus.endpoint}/{bucket}/note.txt"
    request = AWSRequest(method="PUT", url=url, data=b"mine")
    S3SigV4Auth(Credentials(LOCAL_AWS.access_key_id, SECRET), "s3", REGION).add_auth(request)
    headers = dict(request.headers.items())
    swapped = httpx.put(url, content=b"evil", headers=headers, timeout=10)
    assert swapped.status_code == 403
    assert "<Code>XAmzContentSHA256Mismatch</Code>" in swapped.text
    assert httpx.put(url, content=b"mine", headers=headers, timeout=10).status_code == 200
    assert bus.client("s3").get_object(Bucket=bucket, Key="note.txt")["Body"].read() == b"mine"
