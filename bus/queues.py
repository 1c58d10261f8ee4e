"""SQS and SNS as the stages use them: typed messages in, envelopes out, errors translated.

An `SqsRecord` (`bus/sqs_record.py`) is what a consumer holds between receive and delete. Sending to a
FIFO queue or topic always names the group (the session) and a deduplication id; trace context rides in
the message attributes. Dead-lettering keeps the body and group and adds the reason as `clawbus.error.*`
attributes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from clawbus.bus.aws import map_aws_errors
from clawbus.bus.batching import Batcher
from clawbus.bus.errors import ClawbusError, PermanentError, TargetGone, Unavailable
from clawbus.bus.sqs_record import SqsRecord
from clawbus.schemas import attributes as attr

if TYPE_CHECKING:
    from types_aiobotocore_sns import SNSClient
    from types_aiobotocore_sqs import SQSClient

_REASON_MAX = 512


def string_attributes(values: Mapping[str, str]) -> dict[str, Any]:
    """SQS/SNS `MessageAttributes` for string values (empty values dropped: SQS refuses them)."""
    return {name: {"DataType": "String", "StringValue": value} for name, value in values.items() if value}


async def resolve_queue_url(sqs: SQSClient, name: str, endpoint: str | None) -> str:
    """The URL of queue `name`, or a `TargetGone` that says how to fix it."""
    try:
        with map_aws_errors(f"GetQueueUrl {name}"):
            response = await sqs.get_queue_url(QueueName=name)
    except TargetGone as exc:
        where = endpoint or "AWS"
        raise TargetGone(
            f"queue {name} not found at {where} — run 'clawbus up' (embedded) or 'terraform apply' (AWS), "
            "or set CLAWBUS_AWS__ENDPOINT_URL / CLAWBUS_BUS__PREFIX"
        ) from exc
    return response["QueueUrl"]


@dataclass(frozen=True)
class FifoMessage:
    """One message to send or publish: body, FIFO group and dedup id, string attributes."""

    body: str
    group_id: str
    dedup_id: str
    attributes: Mapping[str, str]


TopicMessage = FifoMessage  # what `Topic.publish_batch` takes


class Queue:
    """One SQS FIFO queue, by URL."""

    def __init__(self, sqs: SQSClient, name: str, url: str) -> None:
        self.sqs = sqs
        self.name = name
        self.url = url

    async def receive(
        self, max_messages: int, wait_time_s: int, visibility_timeout_s: int | None = None
    ) -> list[SqsRecord]:
        """Long-poll for up to `max_messages` (1-10) messages, hidden for `visibility_timeout_s`."""
        extra: dict[str, Any] = {}
        if visibility_timeout_s is not None:
            extra["VisibilityTimeout"] = visibility_timeout_s
        with map_aws_errors(f"ReceiveMessage {self.name}"):
            response = await self.sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=max(1, min(10, max_messages)),
                WaitTimeSeconds=wait_time_s,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
                **extra,
            )
        return [SqsRecord.from_receive(m) for m in response.get("Messages", [])]

    async def delete(self, message: SqsRecord) -> None:
        """Delete a handled message (the only way a message leaves a queue successfully)."""
        with map_aws_errors(f"DeleteMessage {self.name}"):
            await self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message.receipt_handle)

    async def set_visibility(self, message: SqsRecord, seconds: int) -> None:
        """Hide a message for `seconds` more (0 gives it back now)."""
        with map_aws_errors(f"ChangeMessageVisibility {self.name}"):
            await self.sqs.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=message.receipt_handle, VisibilityTimeout=seconds
            )

    async def delete_batch(self, messages: Sequence[SqsRecord]) -> list[Exception | None]:
        """Delete up to ten messages in one request; per message, None or the error (retried alone once)."""
        with map_aws_errors(f"DeleteMessageBatch {self.name}"):
            response = await self.sqs.delete_message_batch(
                QueueUrl=self.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m.receipt_handle} for i, m in enumerate(messages)],
            )
        failed = {entry["Id"] for entry in response.get("Failed", [])}
        results: list[Exception | None] = []
        for i, message in enumerate(messages):
            if str(i) not in failed:
                results.append(None)
                continue
            try:
                await self.delete(message)
                results.append(None)
            except ClawbusError as exc:
                results.append(exc)
        return results

    async def set_visibility_batch(
        self, messages: Sequence[SqsRecord], seconds: int
    ) -> list[Exception | None]:
        """Change the visibility of up to ten messages in one request; per message, None or the error."""
        with map_aws_errors(f"ChangeMessageVisibilityBatch {self.name}"):
            response = await self.sqs.change_message_visibility_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m.receipt_handle, "VisibilityTimeout": seconds}
                    for i, m in enumerate(messages)
                ],
            )
        failed = {entry["Id"]: entry.get("Code", "failed") for entry in response.get("Failed", [])}
        return [
            None
            if str(i) not in failed
            else TargetGone(f"ChangeMessageVisibility {self.name}: {failed[str(i)]}")
            for i in range(len(messages))
        ]

    async def send(self, body: str, *, group_id: str, dedup_id: str, attributes: Mapping[str, str]) -> str:
        """Send one message to this FIFO queue; returns its message id."""
        with map_aws_errors(f"SendMessage {self.name}"):
            response = await self.sqs.send_message(
                QueueUrl=self.url,
                MessageBody=body,
                MessageGroupId=group_id,
                MessageDeduplicationId=dedup_id,
                MessageAttributes=string_attributes(attributes),
            )
        return response["MessageId"]

    async def send_many(self, messages: Sequence[FifoMessage]) -> list[str]:
        """Send up to ten messages in one `SendMessageBatch`; their message ids. Raises `Unavailable`
        when any of them was not sent (sending them all again is safe: SQS drops the ones that went by
        their deduplication ids)."""
        with map_aws_errors(f"SendMessageBatch {self.name}"):
            response = await self.sqs.send_message_batch(
                QueueUrl=self.url,
                Entries=[
                    {
                        "Id": str(i),
                        "MessageBody": m.body,
                        "MessageGroupId": m.group_id,
                        "MessageDeduplicationId": m.dedup_id,
                        "MessageAttributes": string_attributes(m.attributes),
                    }
                    for i, m in enumerate(messages)
                ],
            )
        failed = response.get("Failed", [])
        if failed:
            codes = ", ".join(sorted({entry.get("Code", "failed") for entry in failed}))
            raise Unavailable(
                f"SendMessageBatch {self.name}: {len(failed)} of {len(messages)} not sent ({codes})"
            )
        ids = {entry["Id"]: entry["MessageId"] for entry in response.get("Successful", [])}
        return [ids[str(i)] for i in range(len(messages))]

    async def dead_letter(self, message: SqsRecord, error: ClawbusError, *, stage: str, source: str) -> None:
        """Put `message` on this (dead-letter) queue with the reason it could not be handled.

        The body and group are kept, so a replay lands in the same session in order. The dedup id is the
        original message id: dead-lettering the same receive twice stores one copy.
        """
        kept = {k: v for k, v in message.attributes.items() if not k.startswith("clawbus.error.")}
        kept.update(
            {
                attr.ERROR_TYPE: type(error).__name__,
                attr.ERROR_STAGE: stage,
                attr.ERROR_REASON: str(error)[:_REASON_MAX] or type(error).__name__,
                attr.ATTEMPTS: str(message.receive_count),
                attr.FIRST_SEEN: kept.get(attr.FIRST_SEEN) or message.sent_at.isoformat(),
                attr.SOURCE_QUEUE: source,
            }
        )
        await self.send(
            message.body or "{}",
            group_id=message.group_id or "dead-letter",
            dedup_id=message.message_id,
            attributes=kept,
        )


class Topic:
    """One SNS FIFO topic, by ARN."""

    def __init__(self, sns: SNSClient, name: str, arn: str) -> None:
        self.sns = sns
        self.name = name
        self.arn = arn

    async def publish(
        self, body: str, *, group_id: str, dedup_id: str, attributes: Mapping[str, str]
    ) -> None:
        """Publish one message; subscriptions filter on its attributes."""
        with map_aws_errors(f"Publish {self.name}"):
            await self.sns.publish(
                TopicArn=self.arn,
                Message=body,
                MessageGroupId=group_id,
                MessageDeduplicationId=dedup_id,
                MessageAttributes=string_attributes(attributes),
            )

    async def publish_batch(self, items: Sequence[TopicMessage]) -> list[Exception | None]:
        """Publish up to ten messages in one request, in order; per message, None or the error."""
        with map_aws_errors(f"PublishBatch {self.name}"):
            response = await self.sns.publish_batch(
                TopicArn=self.arn,
                PublishBatchRequestEntries=[
                    {
                        "Id": str(i),
                        "Message": item.body,
                        "MessageGroupId": item.group_id,
                        "MessageDeduplicationId": item.dedup_id,
                        "MessageAttributes": string_attributes(item.attributes),
                    }
                    for i, item in enumerate(items)
                ],
            )
        failed = {entry["Id"]: entry for entry in response.get("Failed", [])}
        results: list[Exception | None] = []
        for i in range(len(items)):
            entry = failed.get(str(i))
            if entry is None:
                results.append(None)
            elif entry.get("SenderFault"):
                results.append(PermanentError(f"Publish {self.name}: {entry.get('Code')}"))
            else:
                results.append(Unavailable(f"Publish {self.name}: {entry.get('Code')}"))
        return results


async def resolve_topic_arn(sns: SNSClient, name: str, endpoint: str | None) -> str:
    """The ARN of topic `name`, or a `TargetGone` that says how to fix it."""
    with map_aws_errors("ListTopics"):
        paginator = sns.get_paginator("list_topics")
        async for page in paginator.paginate():
            for topic in page.get("Topics", []):
                if topic["TopicArn"].rsplit(":", 1)[-1] == name:
                    return topic["TopicArn"]
    raise TargetGone(
        f"topic {name} not found at {endpoint or 'AWS'} — "
        "run 'clawbus up' (embedded) or 'terraform apply' (AWS)"
    )


class BatchingPublisher:
    """Publishes to a topic through `PublishBatch`, combining concurrent publishes (up to ten a request).

    Same call as `Topic.publish`; each caller returns when its own message is accepted.
    """

    def __init__(self, topic: Topic) -> None:
        self._batcher: Batcher[TopicMessage] = Batcher(topic.publish_batch)

    @property
    def requests(self) -> int:
        """PublishBatch calls made so far."""
        return self._batcher.requests

    async def publish(
        self, body: str, *, group_id: str, dedup_id: str, attributes: Mapping[str, str]
    ) -> None:
        """Publish one message (in some batch)."""
        await self._batcher.submit(TopicMessage(body, group_id, dedup_id, dict(attributes)))

    async def close(self) -> None:
        """Flush what is pending."""
        await self._batcher.close()
