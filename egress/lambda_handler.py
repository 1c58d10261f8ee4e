"""Egress as a Lambda function behind an SQS event source mapping, over the same consumer and senders.

The adapter only translates: each SQS record becomes an `SqsRecord` (`SqsRecord.from_lambda`), and the
long-running worker's own `FifoConsumer` (`egress.main.channel_consumer`) handles the batch with
`handle_batch`: the same retries, dead letters with their reason, and FIFO rule (`bus.fifo_batch`,
modelled on Powertools' `SqsFifoPartialProcessor` with `skip_group_on_error`: once a message of a group
is given back, every later message of that group in the batch is given back too, so a session's order
holds; other groups go on). The plan's `item_failures` are the partial batch response
(`{"batchItemFailures": [{"itemIdentifier": id}, ...]}`; the mapping needs
`FunctionResponseTypes=["ReportBatchItemFailures"]`). The queue's channel comes from the event source ARN
(`<prefix>-egress-<channel>.fifo`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, cast

from clawbus.bus.errors import ConfigError
from clawbus.bus.logging import configure_logging
from clawbus.bus.settings import Settings
from clawbus.bus.sqs_record import LambdaSqsRecord, SqsRecord
from clawbus.bus.tracing import configure_tracing
from clawbus.egress.main import channel_consumer
from clawbus.egress.senders import open_channel
from clawbus.openclaw.document_settings import load_settings


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
    records = cast("list[LambdaSqsRecord]", list(event.get("Records", [])))
    if not records:
        return {"batchItemFailures": []}
    channel = channel_of(records[0]["eventSourceARN"], settings.bus.prefix)
    async with open_channel(channel, settings) as (queue, dlq, sender, claim_checks):
        consumer = channel_consumer(channel, settings, queue, dlq, sender, claim_checks)
        plan = await consumer.handle_batch([SqsRecord.from_lambda(record) for record in records])
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in plan.item_failures]}


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
