"""Apply a `Topology` to an AWS endpoint, idempotently.

Creates what is missing, each resource with its settings in one request where the API allows it, and
sets the settings that matter on what exists (so running it twice changes nothing, and running it after a
settings change repairs drift): 35 requests on an empty endpoint (it was 94: a queue took four, and
one more for its topic policy; a table five). A full pass ends by tagging the topology's first queue with
a fingerprint of the topology: `up_to_date` reads that tag, so `clawbus up` on a restored loopback state
skips the second pass (two requests and five service models). It is what
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
from clawbus.bus.topology import Queue, Table, Topic, Topology
from clawbus.local.provision_queues import queue_arn, queue_attributes

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


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def fingerprint(topology: Topology) -> str:
    """A short hash of every resource and setting in `topology` (what a full pass applied)."""
    return hashlib.sha256(topology.model_dump_json().encode()).hexdigest()[:16]


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

        A missing resource is created with its settings in one request where the API allows it (a queue
        with its attributes, redrive and topic policy; a subscription with its filter; a table's TTL
        right after it), after one listing of what exists (the queues under the prefix, each topic's
        subscriptions); an existing one has its settings set. Independent resources are applied
        concurrently (`PARALLEL` requests at a time: on the loopback API one at a time left a core idle
        while moto answered): the tables, bucket and schedule groups beside the queues; the topic (a
        subscribed queue's policy names it), then the dead-letter queues together, then the queues whose
        redrive policy names them. The subscriptions go one at a time (`_ensure_subscriptions`), and the
        fingerprint tag comes last, once everything else is done."""
        report = ProvisionReport()
        with ThreadPoolExecutor(PARALLEL) as pool:
            beside = [
                *(pool.submit(self._ensure_table, table, report) for table in topology.tables),
                *(pool.submit(self._ensure_bucket, bucket.name, report) for bucket in topology.buckets),
                *(
                    pool.submit(self._ensure_schedule_group, group, report)
                    for group in topology.schedule_groups
                ),
            ]
            listing = pool.submit(self._queues_under, topology.prefix)
            for topic in topology.topics:
                self._ensure_topic(topic, report)
            found = listing.result()
            arns: dict[str, str] = {}
            for tier in (
                [queue for queue in topology.queues if queue.dead_letter is None],
                [queue for queue in topology.queues if queue.dead_letter is not None],
            ):
                urls = pool.map(
                    lambda queue, attributes: self._ensure_queue(
                        queue, attributes, found.get(queue.name), report
                    ),
                    tier,
                    [queue_attributes(queue, topology, arns, report.topic_arns) for queue in tier],
                )
                for queue, url in zip(tier, urls, strict=True):
                    report.queue_urls[queue.name] = url
                    arns[queue.name] = queue_arn(url, queue.name, self._sqs.meta.partition, self._aws.region)
            self._ensure_subscriptions(topology, arns, report)
            for done in beside:
                done.result()  # raises what the task raised
        first = report.queue_urls[topology.queues[0].name]  # last: the tag says the whole pass completed
        self._sqs.tag_queue(QueueUrl=first, Tags={FINGERPRINT_TAG: fingerprint(topology)})
        return report

    def _queues_under(self, prefix: str) -> dict[str, str]:
        """The URL of every queue whose name starts with `prefix`, by name (one request per 1,000)."""
        pages = self._sqs.get_paginator("list_queues").paginate(
            QueueNamePrefix=prefix, PaginationConfig={"PageSize": 1000}
        )
        return {url.rsplit("/", 1)[-1]: url for page in pages for url in page.get("QueueUrls", [])}

    def _ensure_topic(self, topic: Topic, report: ProvisionReport) -> None:
        # CreateTopic with the same attributes returns the existing topic's ARN
        report.topic_arns[topic.name] = self._sns.create_topic(
            Name=topic.name,
            Attributes={
                "FifoTopic": "true",
                "ContentBasedDeduplication": "true" if topic.content_based_dedup else "false",
            },
        )["TopicArn"]
        report.existing.append(topic.name)
        self._progress(f"topic {topic.name}")

    def _ensure_queue(
        self,
        queue: Queue,
        attributes: dict[QueueAttributeNameType, str],
        url: str | None,
        report: ProvisionReport,
    ) -> str:
        """Create `queue` with its attributes in one request, or set them where it exists (`url`)."""
        if url is None:
            try:
                made = self._sqs.create_queue(
                    QueueName=queue.name, Attributes={"FifoQueue": "true", **attributes}
                )
                report.created.append(queue.name)
                self._progress(f"queue {queue.name}")
                return made["QueueUrl"]
            except ClientError as exc:  # made since the listing, with other settings: bring it in line
                if _error_code(exc) not in ("QueueAlreadyExists", "QueueNameExists"):
                    raise
                url = self._sqs.get_queue_url(QueueName=queue.name)["QueueUrl"]
        self._sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        report.existing.append(queue.name)
        self._progress(f"queue {queue.name}")
        return url

    def _ensure_subscriptions(
        self, topology: Topology, arns: dict[str, str], report: ProvisionReport
    ) -> None:
        """Subscribe each queue to its topic with its filter, or set the filter where it is subscribed
        (each topic's subscriptions listed once). One at a time: moto 5.2.5's Subscribe walks every
        subscription while another Subscribe adds one ("OrderedDict mutated during iteration", a 500 that
        failed provisioning now and then)."""
        subscribed: dict[str, dict[str, str]] = {}  # topic ARN -> endpoint -> subscription ARN
        for sub in topology.subscriptions:
            topic_arn, endpoint = report.topic_arns[sub.topic], arns[sub.queue]
            if topic_arn not in subscribed:
                pages = self._sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn)
                subscribed[topic_arn] = {
                    each["Endpoint"]: each["SubscriptionArn"]
                    for page in pages
                    for each in page["Subscriptions"]
                }
            attributes = {"FilterPolicy": json.dumps(sub.filter_policy), "RawMessageDelivery": "true"}
            existing = subscribed[topic_arn].get(endpoint)
            if existing is None:
                self._sns.subscribe(
                    TopicArn=topic_arn, Protocol="sqs", Endpoint=endpoint, Attributes=attributes
                )
            else:
                for name, value in attributes.items():
                    self._sns.set_subscription_attributes(
                        SubscriptionArn=existing, AttributeName=name, AttributeValue=value
                    )
            self._progress(f"subscription {sub.topic} -> {sub.queue} (channel={sub.channel})")

    def _ensure_schedule_group(self, name: str, report: ProvisionReport) -> None:
        # Look first: the loopback API's CreateScheduleGroup replaces an existing group (and its schedules).
        try:
            self._scheduler.get_schedule_group(Name=name)
            report.existing.append(f"schedule group {name}")
        except ClientError as exc:
            if _error_code(exc) != "ResourceNotFoundException":
                raise
            self._scheduler.create_schedule_group(Name=name)
            report.created.append(f"schedule group {name}")
        self._progress(f"schedule group {name}")

    def _ensure_table(self, table: Table, report: ProvisionReport) -> None:
        """Create `table` (and turn its TTL on), or turn the TTL on where it exists and is off."""
        keys: list[KeySchemaElementTypeDef] = [{"AttributeName": table.hash_key, "KeyType": "HASH"}]
        attrs: list[AttributeDefinitionTypeDef] = [{"AttributeName": table.hash_key, "AttributeType": "S"}]
        if table.range_key:
            keys.append({"AttributeName": table.range_key, "KeyType": "RANGE"})
            attrs.append({"AttributeName": table.range_key, "AttributeType": "S"})
        ttl_off = True
        try:
            made = self._ddb.create_table(
                TableName=table.name,
                KeySchema=keys,
                AttributeDefinitions=attrs,
                BillingMode="PAY_PER_REQUEST",
            )
            if made["TableDescription"].get("TableStatus") != "ACTIVE":  # AWS: CREATING for a while
                self._ddb.get_waiter("table_exists").wait(TableName=table.name, WaiterConfig={"Delay": 1})
            report.created.append(table.name)
        except self._ddb.exceptions.ResourceInUseException:  # it exists
            report.existing.append(table.name)
            if table.ttl_attribute:
                status = self._ddb.describe_time_to_live(TableName=table.name)["TimeToLiveDescription"]
                ttl_off = status.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING")
        if table.ttl_attribute and ttl_off:
            self._ddb.update_time_to_live(
                TableName=table.name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
            )
        self._progress(f"table {table.name}")

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
