"""Egress as a Lambda function behind an SQS event source mapping, over the same consumer and senders.

The adapter only translates: each SQS record becomes a `ReceivedMessage`, and the long-running worker's
own `FifoConsumer` (`egress.main.channel_consumer`) handles the batch with `handle_batch`: the same
in-process retries, dead letters with their reason, and FIFO rule (Powertools' `SqsFifoPartialProcessor`
with `skip_group_on_error`: once a message of a group fails, every later message of that group in the
batch is given back too, so a session's order holds; other groups go on). The given-back messages are
the partial batch response (`{"batchItemFailures": [{"itemIdentifier": id}, ...]}`; the mapping needs
`FunctionResponseTypes=["ReportBatchItemFailures"]`). The queue's channel comes from the event source
ARN (`<prefix>-egress-<channel>.fifo`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from clawbus.bus.errors import ConfigError
from clawbus.bus.logging import configure_logging
from clawbus.bus.queues import ReceivedMessage
from clawbus.bus.settings import Settings
from clawbus.bus.tracing import configure_tracing
from clawbus.egress.main import channel_consumer
from clawbus.egress.senders import open_channel
from clawbus.openclaw.document_settings import load_settings


def message_from_record(record: Mapping[str, Any]) -> ReceivedMessage:
    """A `ReceivedMessage` from one record of an SQS event (Lambda's camelCase shape)."""
    system = record.get("attributes", {})
    return ReceivedMessage(
        message_id=record["messageId"],
        receipt_handle=record["receiptHandle"],
        body=record.get("body", ""),
        group_id=system.get("MessageGroupId", ""),
        dedup_id=system.get("MessageDeduplicationId", ""),
        receive_count=int(system.get("ApproximateReceiveCount", "1")),
        sent_at=datetime.fromtimestamp(int(system.get("SentTimestamp", "0")) / 1000, UTC),
        attributes={
            name: value["stringValue"]
            for name, value in record.get("messageAttributes", {}).items()
            if "stringValue" in value
        },
    )


def channel_of(queue_arn: str, prefix: str) -> str:
    """The channel whose egress queue an event source ARN names; `ConfigError` for any other queue."""
    name = queue_arn.rsplit(":", 1)[-1]
    head, tail = f"{prefix}-egress-", ".fifo"
    if not (name.startswith(head) and name.endswith(tail)) or name.endswith("-dlq.fifo"):
        raise ConfigError(
            f"queue {name} is not a {prefix}-egress-<channel>.fifo queue; check CLAWBUS_BUS__PREFIX"
        )
    return name[len(head) : -len(tail)]


async def handle_event(event: Mapping[str, Any], settings: Settings) -> dict[str, list[dict[str, str]]]:
    """Process one SQS event; the partial batch response."""
    records: list[Mapping[str, Any]] = list(event.get("Records", []))
    if not records:
        return {"batchItemFailures": []}
    channel = channel_of(records[0]["eventSourceARN"], settings.bus.prefix)
    messages = [message_from_record(record) for record in records]
    async with open_channel(channel, settings) as (queue, dlq, sender, claim_checks):
        consumer = channel_consumer(channel, settings, queue, dlq, sender, claim_checks)
        given_back = await consumer.handle_batch(messages)
    failed = [message.message_id for message in given_back]
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def handler(event: dict[str, Any], context: object) -> dict[str, list[dict[str, str]]]:
    """The Lambda entry point (`clawbus.egress.lambda_handler.handler`); settings, with the configuration
    document, are read on a container's first invocation and kept for its life."""
    del context
    global _settings  # one read per container, on first use, not at import
    if _settings is None:
        env = Settings()
        configure_logging(env.log_level)
        configure_tracing("egress", env)
        _settings = load_settings(env).settings
    return asyncio.run(handle_event(event, _settings))


_settings: Settings | None = None
