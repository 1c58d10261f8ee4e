"""Apply a `Topology` to an AWS endpoint, idempotently.

Creates what is missing and sets the settings that matter on what exists (so running it twice changes
nothing, and running it after a settings change repairs drift). A full pass ends by tagging the topology's
first queue with a fingerprint of the topology: `up_to_date` reads that tag, so `clawbus up` on a restored
loopback state skips the second pass (two calls instead of ~90 and five service models). It is what
`clawbus up` runs against the loopback API and what tests use for their fixtures; in AWS the Terraform owns
these resources.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from clawbus.bus.aws import boto3_client
from clawbus.bus.settings import AwsSettings
from clawbus.bus.topology import Queue, Subscription, Topology

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeDefinitionTypeDef, KeySchemaElementTypeDef
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType


@dataclass
class ProvisionReport:
    """What the provisioner did: names created, names that already existed (and were brought in line)."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    queue_urls: dict[str, str] = field(default_factory=dict)
    topic_arns: dict[str, str] = field(default_factory=dict)


Progress = Callable[[str], None]

FINGERPRINT_TAG = "clawbus:topology"
PARALLEL = 8  # requests in flight while provisioning (botocore's pool holds 10 connections per client)


def fingerprint(topology: Topology) -> str:
    """A short hash of every resource and setting in `topology` (what a full pass applied)."""
    return hashlib.sha256(topology.model_dump_json().encode()).hexdigest()[:16]


def _queue_attributes(queue: Queue, arns: dict[str, str]) -> dict[QueueAttributeNameType, str]:
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
    return attrs


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


class Provisioner:
    """Applies a topology with boto3 (synchronous: it runs once, before the stages start)."""

    def __init__(self, aws: AwsSettings, progress: Progress | None = None) -> None:
        self._aws = aws
        self._progress = progress or (lambda _msg: None)

    # Each client loads its service model (tenths of a second for S3 and DynamoDB) when first used.
    @cached_property
    def _sqs(self) -> SQSClient:
        return boto3_client(self._aws, "sqs")

    @cached_property
    def _sns(self) -> SNSClient:
        return boto3_client(self._aws, "sns")

    @cached_property
    def _ddb(self) -> DynamoDBClient:
        return boto3_client(self._aws, "dynamodb")

    @cached_property
    def _s3(self) -> S3Client:
        return boto3_client(self._aws, "s3")

    @cached_property
    def _scheduler(self) -> EventBridgeSchedulerClient:
        return boto3_client(self._aws, "scheduler")

    def load_clients(self) -> None:
        """Create every client now (their service models load; no request is made), e.g. in a thread
        while the endpoint is still starting."""
        for client in (self._sqs, self._sns, self._ddb, self._s3, self._scheduler):
            del client

    def up_to_date(self, topology: Topology) -> bool:
        """Whether a full pass of this very `topology` completed here (its fingerprint is on its first
        queue, e.g. in a restored loopback state); False when the queue or the tag is missing or older."""
        try:
            url = self._sqs.get_queue_url(QueueName=topology.queues[0].name)["QueueUrl"]
            tags = self._sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
        except ClientError:
            return False
        return tags.get(FINGERPRINT_TAG) == fingerprint(topology)

    def apply(self, topology: Topology) -> ProvisionReport:
        """Create or update every resource of `topology`; safe to run any number of times.

        Independent resources are applied concurrently (`PARALLEL` requests at a time: on the loopback API
        one at a time left a core idle while moto answered): the tables, bucket and schedule groups beside
        the queues; the dead-letter queues together, then the queues whose redrive policy names them.
        The subscriptions go one at a time (see below), and the fingerprint tag comes last, once
        everything else is done."""
        report = ProvisionReport()
        arns: dict[str, str] = {}
        with ThreadPoolExecutor(PARALLEL) as pool:
            beside = [
                *(
                    pool.submit(self._ensure_table, t.name, t.hash_key, t.range_key, t.ttl_attribute, report)
                    for t in topology.tables
                ),
                *(pool.submit(self._ensure_bucket, bucket.name, report) for bucket in topology.buckets),
                *(
                    pool.submit(self._ensure_schedule_group, group, report)
                    for group in topology.schedule_groups
                ),
            ]
            # Dead-letter queues first: a queue's redrive policy names its DLQ's ARN.
            for tier in (
                [queue for queue in topology.queues if queue.dead_letter is None],
                [queue for queue in topology.queues if queue.dead_letter is not None],
            ):
                urls = pool.map(lambda queue: self._ensure_queue(queue, arns, report), tier)
                report.queue_urls.update(zip((queue.name for queue in tier), urls, strict=True))
            for topic in topology.topics:
                arn = self._sns.create_topic(
                    Name=topic.name,
                    Attributes={
                        "FifoTopic": "true",
                        "ContentBasedDeduplication": "true" if topic.content_based_dedup else "false",
                    },
                )["TopicArn"]
                report.topic_arns[topic.name] = arn
                report.existing.append(topic.name)
                self._progress(f"topic {topic.name}")
            # One at a time: moto 5.2.5's Subscribe walks every subscription while another Subscribe adds
            # one ("OrderedDict mutated during iteration", a 500 that failed provisioning now and then).
            for sub in topology.subscriptions:
                self._subscribe(sub, arns, report)
            for done in beside:
                done.result()  # raises what the task raised
        first = report.queue_urls[topology.queues[0].name]  # last: the tag says the whole pass completed
        self._sqs.tag_queue(QueueUrl=first, Tags={FINGERPRINT_TAG: fingerprint(topology)})
        return report

    def _subscribe(self, sub: Subscription, arns: dict[str, str], report: ProvisionReport) -> None:
        self._ensure_subscription(
            report.topic_arns[sub.topic], arns[sub.queue], report.queue_urls[sub.queue], sub.filter_policy
        )
        self._progress(f"subscription {sub.topic} -> {sub.queue} (channel={sub.channel})")

    def _ensure_schedule_group(self, name: str, report: ProvisionReport) -> None:
        # Look first: the loopback API's CreateScheduleGroup replaces an existing group (and its schedules).
        try:
            self._scheduler.get_schedule_group(Name=name)
            report.existing.append(f"schedule group {name}")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            self._scheduler.create_schedule_group(Name=name)
            report.created.append(f"schedule group {name}")
        self._progress(f"schedule group {name}")

    def _ensure_queue(self, queue: Queue, arns: dict[str, str], report: ProvisionReport) -> str:
        try:
            url: str = self._sqs.get_queue_url(QueueName=queue.name)["QueueUrl"]
            report.existing.append(queue.name)
        except ClientError as exc:
            if "NonExistentQueue" not in str(exc) and "QueueDoesNotExist" not in str(exc):
                raise
            url = self._sqs.create_queue(QueueName=queue.name, Attributes={"FifoQueue": "true"})["QueueUrl"]
            report.created.append(queue.name)
        self._sqs.set_queue_attributes(QueueUrl=url, Attributes=_queue_attributes(queue, arns))
        arns[queue.name] = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self._progress(f"queue {queue.name}")
        return url

    def _ensure_subscription(
        self, topic_arn: str, queue_arn: str, queue_url: str, policy: dict[str, list[str]]
    ) -> None:
        self._sqs.set_queue_attributes(
            QueueUrl=queue_url, Attributes={"Policy": _sns_may_send(queue_arn, topic_arn)}
        )
        existing = [
            sub["SubscriptionArn"]
            for page in self._sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn)
            for sub in page["Subscriptions"]
            if sub["Endpoint"] == queue_arn
        ]
        attributes = {"FilterPolicy": json.dumps(policy), "RawMessageDelivery": "true"}
        if not existing:
            self._sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes)
            return
        for name, value in attributes.items():
            self._sns.set_subscription_attributes(
                SubscriptionArn=existing[0], AttributeName=name, AttributeValue=value
            )

    def _ensure_table(
        self, name: str, hash_key: str, range_key: str | None, ttl: str | None, report: ProvisionReport
    ) -> None:
        try:
            self._ddb.describe_table(TableName=name)
            report.existing.append(name)
        except self._ddb.exceptions.ResourceNotFoundException:
            keys: list[KeySchemaElementTypeDef] = [{"AttributeName": hash_key, "KeyType": "HASH"}]
            attrs: list[AttributeDefinitionTypeDef] = [{"AttributeName": hash_key, "AttributeType": "S"}]
            if range_key:
                keys.append({"AttributeName": range_key, "KeyType": "RANGE"})
                attrs.append({"AttributeName": range_key, "AttributeType": "S"})
            self._ddb.create_table(
                TableName=name, KeySchema=keys, AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST"
            )
            self._ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
            report.created.append(name)
        if ttl:
            status = self._ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            if status.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
                self._ddb.update_time_to_live(
                    TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl}
                )
        self._progress(f"table {name}")

    def _ensure_bucket(self, name: str, report: ProvisionReport) -> None:
        try:
            self._s3.head_bucket(Bucket=name)
            report.existing.append(name)
        except ClientError:
            kwargs: dict[str, Any] = {}
            if self._aws.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self._aws.region}
            self._s3.create_bucket(Bucket=name, **kwargs)
            report.created.append(name)
        self._progress(f"bucket {name}")
