"""The provisioner builds the topology on the loopback AWS API, idempotently, and SNS routes by channel."""

from __future__ import annotations

import json
from typing import Any

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


def test_each_queue_is_made_with_the_arns_sqs_gives_it(bus: Bus) -> None:
    # ARNs are formed from the queue URLs instead of asked for: they must be the ones SQS reports
    sqs = bus.client("sqs")
    topic_arn = bus.report.topic_arns[outbound_topic_name(bus.prefix)]
    for channel in ("webchat", "slack"):
        url = bus.queue_url(egress_queue_name(bus.prefix, channel))
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        dlq_url = bus.queue_url(dlq_name(egress_queue_name(bus.prefix, channel)))
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]
        assert json.loads(attrs["RedrivePolicy"])["deadLetterTargetArn"] == dlq_arn["QueueArn"]
        (statement,) = json.loads(attrs["Policy"])["Statement"]  # the topic may send to it
        assert statement["Resource"] == attrs["QueueArn"]
        assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": topic_arn}}
        assert attrs["VisibilityTimeout"] == "60"


def test_a_drifted_queue_and_subscription_are_brought_back_in_line(bus: Bus) -> None:
    sqs, sns = bus.client("sqs"), bus.client("sns")
    inbound = bus.queue_url(inbound_queue_name(bus.prefix))
    sqs.set_queue_attributes(QueueUrl=inbound, Attributes={"VisibilityTimeout": "5"})
    topic_arn = bus.report.topic_arns[outbound_topic_name(bus.prefix)]
    slack_arn = sqs.get_queue_attributes(
        QueueUrl=bus.queue_url(egress_queue_name(bus.prefix, "slack")), AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    (slack_sub,) = [
        sub["SubscriptionArn"]
        for sub in sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
        if sub["Endpoint"] == slack_arn
    ]
    sns.set_subscription_attributes(
        SubscriptionArn=slack_sub, AttributeName="FilterPolicy", AttributeValue='{"channel": ["telegram"]}'
    )

    again = Provisioner(bus.aws).apply(bus.topology)

    assert again.created == []
    visibility = sqs.get_queue_attributes(QueueUrl=inbound, AttributeNames=["VisibilityTimeout"])
    assert visibility["Attributes"]["VisibilityTimeout"] == "60"
    policy = sns.get_subscription_attributes(SubscriptionArn=slack_sub)["Attributes"]["FilterPolicy"]
    assert json.loads(policy) == {"channel": ["slack"]}


def test_a_missing_queue_is_made_again_beside_the_existing_ones(bus: Bus) -> None:
    sqs = bus.client("sqs")
    gone = egress_queue_name(bus.prefix, "discord")
    sqs.delete_queue(QueueUrl=bus.queue_url(gone))
    wait_for(lambda: gone not in _queue_names(sqs, bus.prefix), timeout=5, what="the queue's deletion")

    again = Provisioner(bus.aws).apply(bus.topology)

    assert again.created == [gone]
    assert gone in _queue_names(sqs, bus.prefix)


def _queue_names(sqs: Any, prefix: str) -> set[str]:
    return {url.rsplit("/", 1)[-1] for url in sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])}
