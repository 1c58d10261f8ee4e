"""The provisioner builds the topology on the loopback AWS API, idempotently, and SNS routes by channel."""

from __future__ import annotations

import json

from clawbus.bus.topology import (
    build_topology,
    dlq_name,
    egress_queue_name,
    inbound_queue_name,
    outbound_topic_name,
)
from clawbus.local.provision import Provisioner
from tests.conftest import Bus
from tests.helpers import wait_for


def test_applying_twice_creates_nothing_new(bus: Bus) -> None:
    again = Provisioner(bus.aws).apply(bus.topology)
    assert again.created == []
    assert again.queue_urls == bus.report.queue_urls
    subs = bus.client("sns").list_subscriptions_by_topic(
        TopicArn=bus.report.topic_arns[outbound_topic_name(bus.prefix)]
    )
    assert len(subs["Subscriptions"]) == 5  # one per channel, not doubled


def test_inbound_queue_redrives_to_its_dlq_after_five_receives(bus: Bus) -> None:
    sqs = bus.client("sqs")
    url = bus.queue_url(inbound_queue_name(bus.prefix))
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    policy = json.loads(attrs["RedrivePolicy"])
    assert attrs["FifoQueue"] == "true"
    assert policy["deadLetterTargetArn"].endswith(dlq_name(inbound_queue_name(bus.prefix)))
    assert int(policy["maxReceiveCount"]) == 5


def test_a_reply_published_for_slack_reaches_only_the_slack_queue(bus: Bus) -> None:
    sns, sqs = bus.client("sns"), bus.client("sqs")
    sns.publish(
        TopicArn=bus.report.topic_arns[outbound_topic_name(bus.prefix)],
        Message='{"hello": "slack"}',
        MessageGroupId="agent:main:main",
        MessageDeduplicationId="r1",
        MessageAttributes={"channel": {"DataType": "String", "StringValue": "slack"}},
    )

    def received(channel: str) -> list[dict[str, object]]:
        url = bus.queue_url(egress_queue_name(bus.prefix, channel))
        return sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0, MessageAttributeNames=["All"]).get(
            "Messages", []
        )

    message = wait_for(lambda: received("slack"), timeout=5, what="slack delivery")[0]
    assert message["Body"] == '{"hello": "slack"}'  # raw delivery: the body, not an SNS envelope
    assert message["MessageAttributes"]["channel"]["StringValue"] == "slack"  # type: ignore[index]
    assert received("telegram") == []
    assert received("webchat") == []


def test_a_completed_pass_is_recognised_and_a_changed_topology_is_not(bus: Bus) -> None:
    provisioner = Provisioner(bus.aws)
    assert provisioner.up_to_date(bus.topology)  # the fixture applied it in full
    longer = bus.topology.model_copy(
        update={
            "queues": tuple(q.model_copy(update={"visibility_timeout_s": 999}) for q in bus.topology.queues)
        }
    )
    assert not provisioner.up_to_date(longer)  # a setting changed: `up` must apply it again
    assert not provisioner.up_to_date(build_topology(f"{bus.prefix}x"))  # never provisioned here
