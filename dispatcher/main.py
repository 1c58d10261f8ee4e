"""`clawbus dispatcher`: the inbound consumer as a long-running process (ECS in AWS)."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack
from dataclasses import replace
from typing import Any

from clawbus.bus.clients import DispatcherClients, open_stage_clients
from clawbus.bus.consumer import ConsumerConfig, FifoConsumer
from clawbus.bus.health import consumer_report, health_server
from clawbus.bus.lifecycle import stop_on_signals
from clawbus.bus.logging import log_event
from clawbus.bus.queues import BatchingPublisher, Queue, Topic, resolve_queue_url, resolve_topic_arn
from clawbus.bus.settings import Settings
from clawbus.bus.settings.channels import ErrorPolicy
from clawbus.bus.topology import (
    cron_table_name,
    dlq_name,
    inbound_queue_name,
    ledger_table_name,
    outbound_topic_name,
)
from clawbus.channels import registry
from clawbus.dispatcher.agentcore import INVOKE_POLICY, AgentCoreInvoker
from clawbus.dispatcher.core.heartbeat_target import HeartbeatTargets
from clawbus.dispatcher.failure_notice import FailureNotices
from clawbus.dispatcher.ledger import TurnLedger
from clawbus.dispatcher.media_fetch import open_media_fetch
from clawbus.dispatcher.publisher import Publisher
from clawbus.dispatcher.scheduled import CronHistory, LastRoutes
from clawbus.dispatcher.session_queues import SessionQueues
from clawbus.dispatcher.turn_handler import TurnHandler
from clawbus.storage.backends import (
    blob_store,
    idempotency_store,
    media_store,
    session_index,
    shared_reads,
)
from clawbus.storage.claim_check import ClaimChecks
from clawbus.storage.cron.records import CronRecords

logger = logging.getLogger(__name__)


def _report(
    consumer: FifoConsumer, handler: TurnHandler, notices: FailureNotices, requests: dict[str, int]
) -> dict[str, Any]:
    return {
        **consumer_report(consumer, requests),
        "turns": handler.turns,
        "republished": handler.republished,
        "failure_notices": notices.sent,
    }


def draft_channels(settings: Settings) -> frozenset[str]:
    """The channels whose turns show a progress draft (`CLAWBUS_<CHANNEL>__STREAMING=progress`)."""
    return frozenset(
        spec.name
        for spec in registry.CHANNELS
        if getattr(spec.settings(settings), "streaming", "off") == "progress"
    )


def error_policies(settings: Settings) -> dict[str, ErrorPolicy]:
    """Each channel's `CLAWBUS_<CHANNEL>__ERROR_POLICY` (OpenClaw's `errorPolicy`)."""
    return {spec.name: spec.settings(settings).error_policy for spec in registry.CHANNELS}


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Consume the inbound queue until stopped (SIGTERM/SIGINT or `stop`), then drain and return."""
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    endpoint = settings.aws.endpoint_url
    prefix = settings.bus.prefix
    config = settings.dispatcher
    heartbeats = HeartbeatTargets(settings)  # a target it cannot resolve stops the start here, said
    requests: dict[str, int] = {}
    async with (
        open_stage_clients(settings, DispatcherClients, requests) as clients,
        AsyncExitStack() as stack,
    ):
        inbound = inbound_queue_name(prefix)
        queue = Queue(clients.sqs, inbound, await resolve_queue_url(clients.sqs, inbound, endpoint))
        dlq = Queue(
            clients.sqs, dlq_name(inbound), await resolve_queue_url(clients.sqs, dlq_name(inbound), endpoint)
        )
        topic_name = outbound_topic_name(prefix)
        topic = Topic(clients.sns, topic_name, await resolve_topic_arn(clients.sns, topic_name, endpoint))
        publisher = BatchingPublisher(topic)
        reads = shared_reads(clients.dynamodb)  # the ledger's and the session index's: one BatchGetItem
        sessions = session_index(settings, clients, reads)
        ledger = TurnLedger(
            clients.dynamodb, ledger_table_name(prefix), config.ledger_ttl_days * 86_400, reads
        )
        media = await stack.enter_async_context(open_media_fetch(settings, media_store(settings, clients)))
        claim_checks = ClaimChecks(
            clients.s3,
            settings.bus.bucket_name(),
            config.claim_check_bytes,
            blobs=blob_store(settings, clients),
        )
        notices = FailureNotices(
            Publisher(publisher, claim_checks),
            error_policies(settings),
            idempotency_store(clients.dynamodb, ledger_table_name(prefix)),
            draft_channels(settings),
        )
        handler = TurnHandler(
            AgentCoreInvoker(
                clients.agentcore,
                settings.agentcore,
                send_user_id=config.send_user_id,
                policy=replace(INVOKE_POLICY, attempts=config.max_attempts),
            ),
            publisher,
            ledger,
            claim_checks,
            config,
            routes=LastRoutes(sessions),
            cron_history=CronHistory(CronRecords(clients.dynamodb, cron_table_name(prefix))),
            queues=SessionQueues(sessions),
            draft_channels=draft_channels(settings),
            media=media,
            notices=notices,
            heartbeats=heartbeats,
        )
        consumer = FifoConsumer(
            queue,
            dlq,
            handler,
            ConsumerConfig(
                stage="dispatcher",
                concurrency=config.concurrency,
                wait_time_s=config.wait_time_s,
                visibility_timeout_s=config.visibility_timeout_s,
                shutdown_grace_s=config.shutdown_grace_s,
                receivers=config.receivers,
            ),
            planner=handler.plan,
            on_dead_letter=notices.dead_lettered,
        )
        async with health_server(
            lambda: _report(consumer, handler, notices, requests), "127.0.0.1", config.health_port
        ):
            log_event(
                logger,
                "dispatcher.started",
                queue=inbound,
                concurrency=config.concurrency,
                queue_mode=config.queue.mode,
                health_port=config.health_port,
            )
            await consumer.run(stop)
        await publisher.close()
        log_event(logger, "dispatcher.stopped", **_report(consumer, handler, notices, requests))
