"""The loopback AWS API keeps its state across restarts: `clawbus local-aws --state-file`."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError

from clawbus.bus.errors import SnapshotUnusable
from clawbus.local.aws_state import MAGIC, SnapshotHeader, read_header
from clawbus.local.request_gate import RequestGate
from clawbus.local.supervisor import StageFailed
from tests.helpers import wait_for
from tests.local_aws_process import LocalAwsProcess

ROLE = "arn:aws:iam::123456789012:role/scheduler"


@pytest.fixture
def local_aws(tmp_path: Path) -> Iterator[LocalAwsProcess]:
    running = LocalAwsProcess(tmp_path)
    yield running
    running.supervisor.stop_all()


def _receive(sqs: Any, url: str) -> list[dict[str, Any]]:
    return list(
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    )


def test_a_restart_brings_back_every_store_and_the_message_in_flight(local_aws: LocalAwsProcess) -> None:
    local_aws.start()
    sqs, s3, ddb = local_aws.client("sqs"), local_aws.client("s3"), local_aws.client("dynamodb")
    ssm, secrets = local_aws.client("ssm"), local_aws.client("secretsmanager")
    sns, scheduler = local_aws.client("sns"), local_aws.client("scheduler")
    visibility_s = 6
    url = sqs.create_queue(
        QueueName="turns.fifo", Attributes={"FifoQueue": "true", "VisibilityTimeout": str(visibility_s)}
    )["QueueUrl"]
    for i in range(3):
        sqs.send_message(
            QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g", MessageDeduplicationId=f"d{i}"
        )
    [first] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    received_at = time.monotonic()
    assert first["Body"] == "m0"  # in flight, never deleted: it must come back after the restart
    topic = sns.create_topic(Name="replies.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )
    s3.create_bucket(Bucket="clawbus-state")
    s3.put_object(Bucket="clawbus-state", Key="workspace/MEMORY.md", Body=b"remember\n" * 2000)
    ddb.create_table(
        TableName="ledger",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="ledger", Item={"pk": {"S": "allow#webchat#main"}, "ids": {"SS": ["u1", "u2"]}})
    ssm.put_parameter(Name="/clawbus/model", Value="offline", Type="String")
    ssm.add_tags_to_resource(
        ResourceType="Parameter", ResourceId="/clawbus/model", Tags=[{"Key": "k", "Value": "v"}]
    )
    secrets.create_secret(Name="clawbus/telegram", SecretString="bot-token")
    scheduler.create_schedule_group(Name="clawbus")
    scheduler.create_schedule(
        Name="clawbus-cron-daily",
        GroupName="clawbus",
        ScheduleExpression="cron(0 9 * * ? *)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": queue_arn, "RoleArn": ROLE},
    )

    assert local_aws.supervisor.terminate("local-aws") == 0
    assert local_aws.state_file.stat().st_mode & 0o777 == 0o600
    local_aws.start()
    sqs, s3, ddb = local_aws.client("sqs"), local_aws.client("s3"), local_aws.client("dynamodb")
    ssm, secrets = local_aws.client("ssm"), local_aws.client("secretsmanager")
    sns, scheduler = local_aws.client("sns"), local_aws.client("scheduler")

    assert (
        s3.get_object(Bucket="clawbus-state", Key="workspace/MEMORY.md")["Body"].read()
        == b"remember\n" * 2000
    )
    item = ddb.get_item(TableName="ledger", Key={"pk": {"S": "allow#webchat#main"}})["Item"]
    assert sorted(item["ids"]["SS"]) == ["u1", "u2"]
    assert ssm.get_parameter(Name="/clawbus/model")["Parameter"]["Value"] == "offline"
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/clawbus/model")["TagList"]
    assert tags == [{"Key": "k", "Value": "v"}]
    assert secrets.get_secret_value(SecretId="clawbus/telegram")["SecretString"] == "bot-token"
    schedule = scheduler.get_schedule(Name="clawbus-cron-daily", GroupName="clawbus")
    assert schedule["ScheduleExpression"] == "cron(0 9 * * ? *)"

    url = sqs.get_queue_url(QueueName="turns.fifo")["QueueUrl"]
    sqs.send_message(
        QueueUrl=url, MessageBody="again", MessageGroupId="g", MessageDeduplicationId="d1"
    )  # dup
    sns.publish(TopicArn=topic, Message="m3", MessageGroupId="g", MessageDeduplicationId="d3")
    if time.monotonic() - received_at < visibility_s - 1:  # still in flight: its group stays held
        assert _receive(sqs, url) == []
    order: list[str] = []

    def next_run() -> list[dict[str, Any]]:
        return _receive(sqs, url)

    while len(order) < 4:
        for message in wait_for(next_run, timeout=visibility_s + 10, what="the in-flight message back"):
            order.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert order == ["m0", "m1", "m2", "m3"]  # in group order, the duplicate of d1 dropped


def test_a_crash_keeps_what_the_last_periodic_save_held_even_during_a_long_poll(
    local_aws: LocalAwsProcess,
) -> None:
    local_aws.interval_s = 0.3
    local_aws.start()
    sqs = local_aws.client("sqs")
    idle = sqs.create_queue(QueueName="idle")["QueueUrl"]
    busy = sqs.create_queue(QueueName="busy")["QueueUrl"]

    def long_poll() -> None:
        with contextlib.suppress(BotoCoreError):  # cut by the crash below
            sqs.receive_message(QueueUrl=idle, WaitTimeSeconds=20)

    poll = threading.Thread(target=long_poll)
    poll.start()  # a consumer waiting on an empty queue, as the egress workers do all day
    time.sleep(0.5)  # let the poll reach moto before the change under test
    changed_at = time.time()
    local_aws.client("sqs").send_message(QueueUrl=busy, MessageBody="kept")

    def saved_since_change() -> bool:
        return local_aws.state_file.exists() and local_aws.state_file.stat().st_mtime > changed_at

    wait_for(saved_since_change, timeout=5, what="a periodic save while a long poll waits")
    assert poll.is_alive()
    local_aws.supervisor.kill("local-aws")  # the machine goes down: no save at stop
    poll.join(5)
    local_aws.start()
    sqs = local_aws.client("sqs")
    url = sqs.get_queue_url(QueueName="busy")["QueueUrl"]
    assert [m["Body"] for m in _receive(sqs, url)] == ["kept"]


def _saved_with_a_queue(local_aws: LocalAwsProcess) -> None:
    local_aws.start()
    local_aws.client("sqs").create_queue(QueueName="kept")
    assert local_aws.supervisor.terminate("local-aws") == 0


def test_a_state_file_others_may_write_is_refused_at_start_saying_why_and_what_to_do(
    local_aws: LocalAwsProcess,
) -> None:
    _saved_with_a_queue(local_aws)
    local_aws.state_file.chmod(0o666)  # anyone could have put code into this pickle
    with pytest.raises(StageFailed) as refused:
        local_aws.start()
    message = str(refused.value)
    assert "mode 0666 lets other users write it" in message
    assert "loading one runs code" in message
    assert f"chmod 600 {local_aws.state_file}" in message
    assert any(r["event"] == "local_aws.state.refused" for r in local_aws.log())
    assert local_aws.state_file.stat().st_mode & 0o777 == 0o666  # left as it was, not moved or loaded
    local_aws.state_file.chmod(0o600)  # what the message says to do
    local_aws.start()
    assert local_aws.client("sqs").get_queue_url(QueueName="kept")["QueueUrl"]


@pytest.mark.skipif(os.getuid() != 0, reason="only root can give a file to another user")
def test_a_state_file_of_another_user_is_refused_at_start(local_aws: LocalAwsProcess) -> None:
    _saved_with_a_queue(local_aws)
    os.chown(local_aws.state_file, 4242, -1)
    with pytest.raises(StageFailed) as refused:
        local_aws.start()
    assert "belongs to user id 4242" in str(refused.value)


def test_a_corrupt_state_file_is_moved_aside_and_the_api_starts_empty(local_aws: LocalAwsProcess) -> None:
    local_aws.state_file.write_bytes(MAGIC + b'{"format": 1}\n' + b"\x80garbage")
    local_aws.start()
    assert local_aws.client("sqs").list_queues().get("QueueUrls", []) == []
    [kept] = local_aws.state_file.parent.glob("aws-state.pickle.corrupt-*")
    assert kept.read_bytes().endswith(b"\x80garbage")  # nothing thrown away
    rejected = next(r for r in local_aws.log() if r["event"] == "local_aws.state.rejected")
    assert "header is unreadable" in rejected["reason"]
    assert str(kept) in rejected["error"]
    local_aws.client("sqs").create_queue(QueueName="after")
    assert local_aws.supervisor.terminate("local-aws") == 0
    assert read_header(local_aws.state_file.read_bytes())[0].services == ["sqs"]


def test_a_state_file_from_another_moto_version_is_refused_saying_why() -> None:
    header = SnapshotHeader(moto="4.0.0", saved_at=datetime.now(UTC), services=["sqs"])
    data = MAGIC + header.model_dump_json().encode() + b"\n" + b"pickle"
    with pytest.raises(SnapshotUnusable, match=r"written by moto 4\.0\.0 and this is moto 5\.2\.5"):
        read_header(data)
    with pytest.raises(SnapshotUnusable, match="not a clawbus AWS state file"):
        read_header(b"PK\x03\x04 a zip, not ours")


def test_a_pause_waits_for_a_request_mid_way_and_holds_new_ones_until_it_ends() -> None:
    gate = RequestGate()
    events: list[str] = []
    in_request, finish = threading.Event(), threading.Event()

    def request(name: str, hold: threading.Event | None = None) -> None:
        with gate.request():
            events.append(f"{name} in")
            if hold is not None:
                in_request.set()
                hold.wait(5)
            events.append(f"{name} out")

    first = threading.Thread(target=request, args=("first", finish))
    first.start()
    in_request.wait(5)

    def pause() -> None:
        with gate.paused():
            events.append("paused")
            later.start()
            time.sleep(0.2)  # give `later` the chance to (wrongly) get in
            events.append("resumed")

    later = threading.Thread(target=request, args=("later",))
    pauser = threading.Thread(target=pause)
    pauser.start()
    time.sleep(0.2)  # the pauser is now waiting for `first`
    finish.set()
    for thread in (first, pauser, later):
        thread.join(5)
    assert events == ["first in", "first out", "paused", "resumed", "later in", "later out"]


def test_a_kill_between_snapshots_loses_no_change_the_api_answered(local_aws: LocalAwsProcess) -> None:
    """No snapshot is ever taken here (interval 0: only at a clean stop), so everything below lives only
    in the journal when the API is killed: it must all be back, once, in order."""
    local_aws.start()
    sqs, s3, ddb = local_aws.client("sqs"), local_aws.client("s3"), local_aws.client("dynamodb")
    sns, scheduler = local_aws.client("sns"), local_aws.client("scheduler")
    url = sqs.create_queue(QueueName="in.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name="out.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )
    for i in range(3):
        sqs.send_message(
            QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g", MessageDeduplicationId=f"d{i}"
        )
    sns.publish(TopicArn=topic, Message="m3", MessageGroupId="g", MessageDeduplicationId="d3")
    s3.create_bucket(Bucket="state")
    s3.put_object(Bucket="state", Key="sessions/a b+c.jsonl", Body=bytes(range(256)) * 40)
    ddb.create_table(
        TableName="ledger",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    claim = {"TableName": "ledger", "ConditionExpression": "attribute_not_exists(pk)"}
    ddb.put_item(**claim, Item={"pk": {"S": "turn:1"}, "by": {"S": "first"}})
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.put_item(**claim, Item={"pk": {"S": "turn:1"}, "by": {"S": "second"}})
    scheduler.create_schedule_group(Name="clawbus")
    scheduler.create_schedule(
        Name="reminder",
        GroupName="clawbus",
        ScheduleExpression="at(2027-01-01T09:00:00)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": queue_arn, "RoleArn": ROLE},
    )

    local_aws.supervisor.kill("local-aws")  # kill -9: no save at stop
    assert not local_aws.state_file.exists()
    local_aws.start()
    sqs, s3, ddb = local_aws.client("sqs"), local_aws.client("s3"), local_aws.client("dynamodb")
    scheduler = local_aws.client("scheduler")

    assert s3.get_object(Bucket="state", Key="sessions/a b+c.jsonl")["Body"].read() == bytes(range(256)) * 40
    item = ddb.get_item(TableName="ledger", Key={"pk": {"S": "turn:1"}})["Item"]
    assert item["by"]["S"] == "first"  # the conditional write that lost stayed lost
    assert scheduler.get_schedule(Name="reminder", GroupName="clawbus")["ScheduleExpression"].startswith(
        "at("
    )
    url = sqs.get_queue_url(QueueName="in.fifo")["QueueUrl"]
    order: list[str] = []
    while len(order) < 4:
        for message in wait_for(lambda: _receive(sqs, url), timeout=10, what="the journaled messages"):
            order.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert order == ["m0", "m1", "m2", "m3"]
    assert [e for e in local_aws.log() if e["event"] == "local_aws.journal.replayed"][-1]["refused"] == 0


def test_changes_before_and_after_a_snapshot_come_back_once_each_after_a_kill(
    local_aws: LocalAwsProcess,
) -> None:
    """A change the snapshot holds is not replayed again from the journal; one after it is."""
    local_aws.interval_s = 0.3
    local_aws.start()
    sqs = local_aws.client("sqs")
    url = sqs.create_queue(QueueName="plain")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="before")
    changed_at = time.time()
    wait_for(
        lambda: local_aws.state_file.exists() and local_aws.state_file.stat().st_mtime > changed_at,
        timeout=5,
        what="a snapshot holding the first message",
    )
    sqs.send_message(QueueUrl=url, MessageBody="after")
    local_aws.supervisor.kill("local-aws")
    local_aws.start()
    sqs = local_aws.client("sqs")
    url = sqs.get_queue_url(QueueName="plain")["QueueUrl"]
    bodies: list[str] = []
    for _ in range(3):
        bodies += [m["Body"] for m in _receive(sqs, url)]
    assert sorted(bodies) == ["after", "before"]


def test_a_message_in_flight_stays_with_its_consumer_through_a_kill_of_the_api(
    local_aws: LocalAwsProcess,
) -> None:
    """A consumer that received a message (and extended it) before the API was killed still holds it
    after the restart: nobody else is handed it, or the message behind it in its FIFO group, before its
    timeout, and the consumer's receipt still deletes it."""
    local_aws.start()
    sqs = local_aws.client("sqs")
    url = sqs.create_queue(QueueName="out.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    for i in range(2):
        sqs.send_message(
            QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g", MessageDeduplicationId=f"d{i}"
        )
    plain = sqs.create_queue(QueueName="plain")["QueueUrl"]
    sqs.send_message(QueueUrl=plain, MessageBody="p0")
    [held] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=2)["Messages"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=held["ReceiptHandle"], VisibilityTimeout=60)
    [plain_held] = sqs.receive_message(QueueUrl=plain, VisibilityTimeout=60)["Messages"]

    local_aws.kill()
    local_aws.start()
    sqs = local_aws.client("sqs")
    assert _receive(sqs, url) == []  # m0 is in flight, and m1 waits behind it
    assert _receive(sqs, plain) == []
    sqs.delete_message(QueueUrl=url, ReceiptHandle=held["ReceiptHandle"])
    sqs.delete_message(QueueUrl=plain, ReceiptHandle=plain_held["ReceiptHandle"])
    assert [m["Body"] for m in _receive(sqs, url)] == ["m1"]
    assert _receive(sqs, plain) == []  # deleted, not handed out again
    assert [e for e in local_aws.log() if e["event"] == "local_aws.journal.replayed"][-1]["refused"] == 0


def test_a_deduplication_id_outlives_its_deleted_message_through_a_kill_and_a_clean_restart(
    local_aws: LocalAwsProcess,
) -> None:
    """A platform retry that comes after the API restarted is still a duplicate within SQS's 5 minutes:
    the ids seen come back from the journal (after a kill) and from the snapshot (after a stop)."""
    local_aws.start()
    sqs = local_aws.client("sqs")
    url = sqs.create_queue(
        QueueName="in.fifo", Attributes={"FifoQueue": "true", "DeduplicationScope": "messageGroup"}
    )["QueueUrl"]

    def send(body: str, dedup: str) -> None:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g", MessageDeduplicationId=dedup)

    def drain() -> list[str]:
        got = _receive(sqs, url)
        for m in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return [m["Body"] for m in got]

    send("first", "event-1")
    assert drain() == ["first"]
    local_aws.kill()
    local_aws.start()
    sqs = local_aws.client("sqs")
    send("retry after a kill", "event-1")
    send("second", "event-2")
    assert drain() == ["second"]
    local_aws.stop()
    local_aws.start()
    sqs = local_aws.client("sqs")
    send("retry after a stop", "event-1")
    send("retry after a stop", "event-2")
    send("third", "event-3")
    assert drain() == ["third"]
