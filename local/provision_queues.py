"""What the provisioner sets on an SQS queue, as values: its attributes (redrive policy, and the policy that
lets its topic send to it), and the ARNs it needs, formed the way SQS forms them instead of asked for.

A queue is created with all of these in one `CreateQueue` (on a fresh loopback API that was four requests
per queue, and one more for each subscribed queue's policy).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from clawbus.bus.topology import Queue, Topology

if TYPE_CHECKING:
    from mypy_boto3_sqs.literals import QueueAttributeNameType


def queue_attributes(
    queue: Queue, topology: Topology, arns: dict[str, str], topic_arns: dict[str, str]
) -> dict[QueueAttributeNameType, str]:
    """`queue`'s attributes: its settings, its redrive policy (its dead-letter queue's ARN in `arns`) and,
    when subscribed to a topic (its ARN in `topic_arns`), the policy that lets that topic send to it."""
    attrs: dict[QueueAttributeNameType, str] = {
        "VisibilityTimeout": str(queue.visibility_timeout_s),
        "MessageRetentionPeriod": str(queue.retention_s),
        "ContentBasedDeduplication": "true" if queue.content_based_dedup else "false",
        "DeduplicationScope": "messageGroup",
        "FifoThroughputLimit": "perMessageGroupId",
    }
    if queue.dead_letter:
        attrs["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": arns[queue.dead_letter], "maxReceiveCount": str(queue.max_receive_count)}
        )
    for sub in topology.subscriptions:
        if sub.queue == queue.name:  # one topic per queue in a topology
            topic_arn = topic_arns[sub.topic]
            attrs["Policy"] = _sns_may_send(sibling_arn(topic_arn, "sqs", queue.name), topic_arn)
    return attrs


def queue_arn(url: str, name: str, partition: str, region: str) -> str:
    """A queue's ARN from its URL (`<endpoint>/<account>/<name>`): no `GetQueueAttributes` needed."""
    account = urlsplit(url).path.strip("/").split("/")[0]
    return f"arn:{partition}:sqs:{region}:{account}:{name}"


def sibling_arn(arn: str, service: str, name: str) -> str:
    """The ARN of `service`'s resource `name` in the partition, region and account of `arn`."""
    partition, _service, region, account = arn.split(":")[1:5]
    return f"arn:{partition}:{service}:{region}:{account}:{name}"


def _sns_may_send(queue_arn: str, topic_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "outbound-topic",
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
                }
            ],
        }
    )
