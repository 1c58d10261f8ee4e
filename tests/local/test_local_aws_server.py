"""The loopback AWS API's HTTP server (`local/aws_server.py`): one connection carries many AWS calls, and
requests reach moto as werkzeug's server handed them over (S3 keys and metadata names as sent).

Every stage's AWS call is a request to this server: a connection per call was a TCP handshake and a
teardown per hop of every turn (issue 21).
"""

from __future__ import annotations

import http.client
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
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
    connection.request("POST", "/", body=body, headers=dict(request.headers.items()))
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


def test_concurrent_subscribes_and_publishes_all_succeed_and_subscribe_each_queue_once(bus: Bus) -> None:
    # moto's SNS walks and changes its region's subscription list from the request threads without a
    # lock: with a few hundred subscriptions (a test session's, a long-lived `up`'s) the walks are long.
    sns, sqs = bus.client("sns"), bus.client("sqs")
    fifo = {"FifoQueue": "true"}
    arns = []
    for n in range(8):
        url = sqs.create_queue(QueueName=f"{bus.prefix}-sub{n}.fifo", Attributes=fifo)["QueueUrl"]
        arns.append(
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        )
    topics = [
        sns.create_topic(Name=f"{bus.prefix}-t{n}.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
        for n in range(40)
    ]
    local = threading.local()

    def client() -> Any:
        if not hasattr(local, "sns"):
            local.sns = bus.client("sns")
        return local.sns

    def subscribe(pair: tuple[str, str]) -> str:
        topic, arn = pair
        return str(client().subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)["SubscriptionArn"])

    def publish(n: int) -> str:
        answer = client().publish(
            TopicArn=topics[n % len(topics)],
            Message=f"m{n}",
            MessageGroupId="g",
            MessageDeduplicationId=f"d{n}",
        )
        return str(answer["MessageId"])

    pairs = [(topic, arn) for topic in topics for arn in arns]
    with ThreadPoolExecutor(max_workers=8) as pool:
        published = [pool.submit(publish, n) for n in range(40)]
        subscribed = list(pool.map(subscribe, pairs + pairs[::7]))  # some pairs twice, at once
        assert all(future.result() for future in published)
    assert len(set(subscribed)) == len(pairs)  # one subscription per topic and queue
    listed = sns.list_subscriptions_by_topic(TopicArn=topics[0])["Subscriptions"]
    assert sorted(s["Endpoint"] for s in listed) == sorted(arns)
