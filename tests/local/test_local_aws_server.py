"""The loopback AWS API's HTTP server (`local/aws_server.py`): one connection carries many AWS calls, and
requests reach moto as werkzeug's server handed them over (S3 keys and metadata names as sent).

Every stage's AWS call is a request to this server: a connection per call was a TCP handshake and a
teardown per hop of every turn (issue 21).
"""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from clawbus.bus.topology import inbound_queue_name
from tests.conftest import LOCAL_AWS, REGION, SECRET, Bus


def _connection(endpoint: str) -> http.client.HTTPConnection:
    parts = urlsplit(endpoint)
    return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)


def _list_queues(endpoint: str, prefix: str) -> AWSRequest:
    """A signed SQS ListQueues (query protocol), as botocore sends it."""
    request = AWSRequest(
        method="POST",
        url=f"{endpoint}/",
        data=f"Action=ListQueues&Version=2012-11-05&QueueNamePrefix={prefix}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials(LOCAL_AWS.access_key_id, SECRET), "sqs", REGION).add_auth(request)
    return request


def _send(connection: http.client.HTTPConnection, request: AWSRequest) -> http.client.HTTPResponse:
    body = request.data if isinstance(request.data, bytes) else b""
    connection.request(request.method, "/", body=body, headers=dict(request.headers.items()))
    return connection.getresponse()


def test_two_calls_on_one_connection_get_two_answers_and_it_stays_open(bus: Bus) -> None:
    queue = inbound_queue_name(bus.prefix)
    connection = _connection(bus.endpoint)
    try:
        first = _send(connection, _list_queues(bus.endpoint, bus.prefix))
        assert first.status == 200
        assert queue in first.read().decode()
        assert not first.will_close  # no `Connection: close`
        socket_used = connection.sock
        second = _send(connection, _list_queues(bus.endpoint, bus.prefix))
        assert second.status == 200
        assert queue in second.read().decode()
        assert connection.sock is socket_used  # the same TCP connection answered both
        assert not second.will_close
    finally:
        connection.close()


def test_a_refused_request_whose_body_was_never_read_leaves_the_connection_usable(bus: Bus) -> None:
    # /moto-api/* without the token is refused before its body is read: the server must skip that
    # body, not read it as the next request line.
    connection = _connection(bus.endpoint)
    try:
        connection.request("POST", "/moto-api/reset", body=b"x" * 50_000)
        refused = connection.getresponse()
        assert refused.status == 401
        refused.read()
        answer = _send(connection, _list_queues(bus.endpoint, bus.prefix))
        assert answer.status == 200
        assert inbound_queue_name(bus.prefix) in answer.read().decode()
    finally:
        connection.close()


def test_s3_metadata_names_with_underscores_come_back_as_written(bus: Bus) -> None:
    bucket = bus.topology.buckets[0].name
    s3 = bus.client("s3")
    s3.put_object(Bucket=bucket, Key="meta.txt", Body=b"x", Metadata={"my_key": "a", "other-key": "b"})
    assert s3.head_object(Bucket=bucket, Key="meta.txt")["Metadata"] == {"my_key": "a", "other-key": "b"}


def test_an_s3_key_with_an_encoded_slash_is_its_own_object(bus: Bus) -> None:
    bucket = bus.topology.buckets[0].name
    s3 = bus.client("s3")
    s3.put_object(Bucket=bucket, Key="a%2Fb", Body=b"encoded")
    s3.put_object(Bucket=bucket, Key="a/b", Body=b"slash")
    assert s3.get_object(Bucket=bucket, Key="a%2Fb")["Body"].read() == b"encoded"
    assert s3.get_object(Bucket=bucket, Key="a/b")["Body"].read() == b"slash"
