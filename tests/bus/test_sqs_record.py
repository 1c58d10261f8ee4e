"""One SQS record type, from ReceiveMessage and from a Lambda SQS event alike."""

from __future__ import annotations

from datetime import UTC, datetime

from clawbus.bus.sqs_record import SqsRecord

_SYSTEM = {
    "MessageGroupId": "agent:main:telegram:direct:1",
    "MessageDeduplicationId": "d-1",
    "ApproximateReceiveCount": "3",
    "SentTimestamp": "1764806400000",
}


def test_a_received_message_and_a_lambda_record_of_the_same_message_are_equal() -> None:
    received = SqsRecord.from_receive(
        {
            "MessageId": "m-1",
            "ReceiptHandle": "rh",
            "Body": "{}",
            "Attributes": _SYSTEM,  # type: ignore[typeddict-item]
            "MessageAttributes": {"traceparent": {"DataType": "String", "StringValue": "00-ab"}},
        }
    )
    from_lambda = SqsRecord.from_lambda(
        {
            "messageId": "m-1",
            "receiptHandle": "rh",
            "body": "{}",
            "attributes": _SYSTEM,
            "messageAttributes": {"traceparent": {"dataType": "String", "stringValue": "00-ab"}},
            "eventSourceARN": "arn:aws:sqs:eu-west-1:000000000000:cb-egress-telegram.fifo",
        }
    )
    assert received == from_lambda
    assert received.group_id == "agent:main:telegram:direct:1"
    assert received.receive_count == 3
    assert received.sent_at == datetime(2025, 12, 4, tzinfo=UTC)
    assert received.attributes == {"traceparent": "00-ab"}
