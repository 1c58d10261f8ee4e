"""Egress as a Lambda function behind an SQS event source mapping, over the same handler and senders.

The adapter only translates: each SQS record becomes a `ReceivedMessage`, the `EgressHandler` sends it,
and the result is a partial batch response (`{"batchItemFailures": [{"itemIdentifier": id}, ...]}`;
the mapping needs `FunctionResponseTypes=["ReportBatchItemFailures"]`), so one bad record does not
bring the whole batch back. The rule is the process consumer's (and Powertools' FIFO processor's with
`skip_group_on_error`): a record that fails with a retryable error is reported, and so is every later
record of its message group in the batch, so a session's order holds; records of other groups go on.
A permanent error is dead-lettered here with its reason and counts as handled. The queue's channel
comes from the event source ARN (`<prefix>-egress-<channel>.fifo`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from clawbus.bus.document_settings import load_settings
from clawbus.bus.errors import ClawbusError, ConfigError
from clawbus.bus.logging import configure_logging, log_event
from clawbus.bus.queues import ReceivedMessage
from clawbus.bus.redrive import DeadLetter, decide
from clawbus.bus.settings import Settings
from clawbus.bus.topology import DLQ_MAX_RECEIVE_COUNT
from clawbus.bus.tracing import configure_tracing

from .senders import open_channel
from .worker import EgressHandler

logger = logging.getLogger(__name__)

DeadLetterFn = Callable[[ReceivedMessage, ClawbusError], Awaitable[None]]
GiveBackFn = Callable[[ReceivedMessage, int], Awaitable[None]]


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


async def process_records(
    records: Sequence[Mapping[str, Any]],
    handle: Callable[[list[ReceivedMessage]], Awaitable[None]],
    dead_letter: DeadLetterFn,
    give_back: GiveBackFn,
    max_receives: int = DLQ_MAX_RECEIVE_COUNT,
) -> list[str]:
    """Handle records in order; return the message ids to report as failed."""
    failed: list[str] = []
    failed_groups: set[str] = set()
    for record in records:
        message = message_from_record(record)
        if message.group_id in failed_groups:
            failed.append(message.message_id)
            continue
        try:
            await handle([message])
        except Exception as exc:  # the batch's outermost guard: classify, never fail the whole batch
            decision = decide(exc, message.receive_count, max_receives)
            if isinstance(decision, DeadLetter):
                try:
                    await dead_letter(message, decision.error)
                except ClawbusError:
                    pass  # could not dead-letter: report it failed and let SQS bring it back
                else:
                    continue
            else:
                await give_back(message, decision.delay_s)
            failed.append(message.message_id)
            failed_groups.add(message.group_id)
    return failed


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
    async with open_channel(channel, settings) as (queue, dlq, sender, claim_checks):
        stage = f"egress.{channel}"

        async def dead_letter(message: ReceivedMessage, error: ClawbusError) -> None:
            await dlq.dead_letter(message, error, stage=stage, source=queue.name)
            log_event(
                logger,
                f"{stage}.message.dead_lettered",
                logging.ERROR,
                message_id=message.message_id,
                error_type=type(error).__name__,
                reason=str(error)[:300],
            )

        async def give_back(message: ReceivedMessage, delay_s: int) -> None:
            # Best effort: without it the record comes back after the queue's visibility timeout.
            with contextlib.suppress(ClawbusError):
                await queue.set_visibility(message, delay_s)

        failed = await process_records(
            records, EgressHandler(channel, sender, claim_checks), dead_letter, give_back
        )
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def handler(event: dict[str, Any], context: object) -> dict[str, list[dict[str, str]]]:
    """The Lambda entry point (`clawbus.egress.lambda_handler.handler`); settings, with the configuration
    document, are read on a container's first invocation and kept for its life."""
    del context
    global _settings  # one read per container, on first use, not at import
    if _settings is None:
        env = Settings()
        configure_logging(env.log_level)
        configure_tracing("egress")
        _settings = load_settings(env).settings
    return asyncio.run(handle_event(event, _settings))


_settings: Settings | None = None
