"""`clawbus dispatcher`: the inbound consumer as a long-running process (ECS in AWS)."""

from __future__ import annotations

import asyncio
import logging

from clawbus.bus.aws import open_clients
from clawbus.bus.consumer import ConsumerConfig, FifoConsumer
from clawbus.bus.lifecycle import stop_on_signals
from clawbus.bus.logging import log_event
from clawbus.bus.queues import Queue, Topic, resolve_queue_url, resolve_topic_arn
from clawbus.bus.settings import Settings
from clawbus.bus.topology import dlq_name, inbound_queue_name, outbound_topic_name

from .agentcore import AgentCoreInvoker
from .turn_handler import TurnHandler

logger = logging.getLogger(__name__)


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Consume the inbound queue until stopped (SIGTERM/SIGINT or `stop`), then drain and return."""
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    endpoint = settings.aws.endpoint_url
    prefix = settings.bus.prefix
    async with open_clients(settings, "sqs", "sns", "agentcore") as clients:
        assert clients.sqs
        assert clients.sns
        assert clients.agentcore
        inbound = inbound_queue_name(prefix)
        queue = Queue(clients.sqs, inbound, await resolve_queue_url(clients.sqs, inbound, endpoint))
        dlq = Queue(
            clients.sqs, dlq_name(inbound), await resolve_queue_url(clients.sqs, dlq_name(inbound), endpoint)
        )
        topic_name = outbound_topic_name(prefix)
        topic = Topic(clients.sns, topic_name, await resolve_topic_arn(clients.sns, topic_name, endpoint))
        handler = TurnHandler(AgentCoreInvoker(clients.agentcore, settings.agentcore), topic)
        config = settings.dispatcher
        consumer = FifoConsumer(
            queue,
            dlq,
            handler,
            ConsumerConfig(
                stage="dispatcher",
                concurrency=config.concurrency,
                wait_time_s=config.wait_time_s,
                visibility_timeout_s=config.visibility_timeout_s,
                max_attempts=config.max_attempts,
                shutdown_grace_s=config.shutdown_grace_s,
            ),
        )
        log_event(logger, "dispatcher.started", queue=inbound, concurrency=config.concurrency)
        await consumer.run(stop)
        log_event(
            logger,
            "dispatcher.stopped",
            handled=consumer.stats.handled,
            dead_lettered=consumer.stats.dead_lettered,
        )
