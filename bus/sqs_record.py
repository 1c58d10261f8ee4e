"""One SQS message as every consumer holds it, whoever received it.

A long-running worker gets messages from `ReceiveMessage` (PascalCase keys, `MessageTypeDef`); a Lambda
function gets them in an SQS event (camelCase keys, `LambdaSqsRecord`). Both become the same frozen
`SqsRecord`, so the batch rule (`bus/fifo_batch.py`), the consumer and the handlers see one shape
(Powertools splits its SQS envelope from the models the same way: `parser/models/sqs.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NotRequired, TypedDict

if TYPE_CHECKING:
    from types_aiobotocore_sqs.type_defs import MessageTypeDef


class LambdaMessageAttribute(TypedDict):
    """One message attribute in a Lambda SQS event (only string values are kept)."""

    dataType: str
    stringValue: NotRequired[str]
    binaryValue: NotRequired[str]


class LambdaSqsRecord(TypedDict):
    """One record of a Lambda SQS event, as the event source mapping delivers it."""

    messageId: str
    receiptHandle: str
    body: NotRequired[str]
    attributes: NotRequired[dict[str, str]]
    messageAttributes: NotRequired[dict[str, LambdaMessageAttribute]]
    md5OfBody: NotRequired[str]
    eventSource: NotRequired[str]
    eventSourceARN: str
    awsRegion: NotRequired[str]


@dataclass(frozen=True)
class SqsRecord:
    """A message received from a queue and not yet deleted."""

    message_id: str
    receipt_handle: str
    body: str
    group_id: str
    dedup_id: str
    receive_count: int
    sent_at: datetime
    attributes: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_receive(cls, raw: MessageTypeDef) -> SqsRecord:
        """From one entry of `ReceiveMessage`'s `Messages` (asked with all system attributes)."""
        system = {str(name): value for name, value in raw.get("Attributes", {}).items()}
        return cls._build(
            message_id=raw.get("MessageId", ""),
            receipt_handle=raw.get("ReceiptHandle", ""),
            body=raw.get("Body", ""),
            system=system,
            attributes={
                name: value["StringValue"]
                for name, value in raw.get("MessageAttributes", {}).items()
                if "StringValue" in value
            },
        )

    @classmethod
    def from_lambda(cls, record: LambdaSqsRecord) -> SqsRecord:
        """From one record of a Lambda SQS event."""
        return cls._build(
            message_id=record["messageId"],
            receipt_handle=record["receiptHandle"],
            body=record.get("body", ""),
            system=record.get("attributes", {}),
            attributes={
                name: value["stringValue"]
                for name, value in record.get("messageAttributes", {}).items()
                if "stringValue" in value
            },
        )

    @classmethod
    def _build(
        cls,
        *,
        message_id: str,
        receipt_handle: str,
        body: str,
        system: Mapping[str, str],
        attributes: dict[str, str],
    ) -> SqsRecord:
        return cls(
            message_id=message_id,
            receipt_handle=receipt_handle,
            body=body,
            group_id=system.get("MessageGroupId", ""),
            dedup_id=system.get("MessageDeduplicationId", ""),
            receive_count=int(system.get("ApproximateReceiveCount", "1")),
            sent_at=datetime.fromtimestamp(int(system.get("SentTimestamp", "0")) / 1000, UTC),
            attributes=attributes,
        )
