"""`clawbus egress <channel>`: one channel's reply worker as a long-running process."""

from __future__ import annotations

import asyncio
import logging

from clawbus.bus.consumer import ConsumerConfig, FifoConsumer
from clawbus.bus.health import consumer_report, health_server
from clawbus.bus.lifecycle import stop_on_signals
from clawbus.bus.logging import log_event
from clawbus.bus.queues import Queue
from clawbus.bus.settings import Settings
from clawbus.egress.reply_handler import ChannelSender, EgressHandler
from clawbus.egress.senders import open_channel
from clawbus.storage.claim_check import ClaimChecks

logger = logging.getLogger(__name__)


async def run(settings: Settings, channel: str, stop: asyncio.Event | None = None) -> None:
    """Consume `channel`'s egress queue until stopped, then drain and return."""
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    requests: dict[str, int] = {}
    async with open_channel(channel, settings, requests) as (queue, dlq, sender, claim_checks):
        consumer = channel_consumer(channel, settings, queue, dlq, sender, claim_checks)
        port = settings.egress.health_port
        async with health_server(lambda: consumer_report(consumer, requests), "127.0.0.1", port):
            log_event(logger, "egress.started", channel=channel, queue=queue.name, health_port=port)
            await consumer.run(stop)
        log_event(logger, "egress.stopped", channel=channel, **consumer_report(consumer, requests))


def channel_consumer(
    channel: str,
    settings: Settings,
    queue: Queue,
    dlq: Queue,
    sender: ChannelSender,
    claim_checks: ClaimChecks,
) -> FifoConsumer:
    """The consumer of `channel`'s egress queue: the process's and the Lambda's (`lambda_handler.py`)."""
    config = settings.egress
    return FifoConsumer(
        queue,
        dlq,
        EgressHandler(channel, sender, claim_checks, pause_before_delete_s=config.test_pause_before_delete_s),
        ConsumerConfig(
            stage=f"egress.{channel}",
            concurrency=config.concurrency,
            wait_time_s=config.wait_time_s,
            visibility_timeout_s=config.visibility_timeout_s,
            shutdown_grace_s=config.shutdown_grace_s,
        ),
    )
