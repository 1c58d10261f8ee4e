"""Which sender a channel's worker uses, built from its `ChannelSpec.outbound` (process and Lambda).

A channel with a `PlatformClient` goes through the shared `ChunkedSender` (its profile, the sent ledger,
the blob store the agent put a reply's files in), behind a `DraftSender` when the client can edit
messages (progress drafts, issue 21); one with a sender of its own (WebChat's table) gets that sender.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from clawbus.bus.clients import EgressClients, open_stage_clients
from clawbus.bus.errors import ConfigError
from clawbus.bus.queues import Queue, resolve_queue_url
from clawbus.bus.settings import Settings
from clawbus.bus.topology import dlq_name, egress_queue_name, ledger_table_name
from clawbus.channels import registry
from clawbus.channels.contracts import SenderDeps
from clawbus.channels.edits import Edits
from clawbus.egress.chunked_sender import ChunkedSender
from clawbus.egress.core import ChunkMode
from clawbus.egress.draft_ledger import DraftLedger
from clawbus.egress.drafts import DraftSender
from clawbus.egress.pacer import Pacer
from clawbus.egress.reply_handler import ChannelSender
from clawbus.egress.sent_ledger import DynamoSentLedger
from clawbus.storage.backends import blob_store
from clawbus.storage.claim_check import ClaimChecks


@contextlib.asynccontextmanager
async def open_sender(
    channel: str, settings: Settings, clients: EgressClients
) -> AsyncIterator[ChannelSender]:
    """The sender for `channel` for the life of the block, or a `ConfigError` naming what to set."""
    outbound = registry.spec(channel).outbound
    if outbound.open_sender is not None:
        async with outbound.open_sender(SenderDeps(clients.dynamodb, settings.bus.prefix)) as own:
            yield own
        return
    if outbound.open_client is None or outbound.profile is None:
        raise ConfigError(f"channel {channel!r} has no egress sender")
    egress = settings.egress
    ledger = DynamoSentLedger(
        clients.dynamodb,
        ledger_table_name(settings.bus.prefix),
        egress.sent_ttl_days,
        lease_s=egress.visibility_timeout_s,  # SQS hands the reply to another worker no sooner
    )
    cfg = registry.spec(channel).settings(settings)
    async with outbound.open_client(cfg, egress.request_timeout_s) as client:
        pacer = Pacer()
        wait_s = egress.max_inline_wait_s
        chunked = ChunkedSender(
            outbound.profile,
            client,
            ledger,
            pacer,
            max_inline_wait_s=wait_s,
            chunk_mode=ChunkMode(getattr(cfg, "chunk_mode", ChunkMode.LENGTH)),  # webchat has none
            media=blob_store(settings, clients),  # the files the agent attached (state bucket)
        )
        if not isinstance(client, Edits):
            yield chunked
            return
        table = ledger_table_name(settings.bus.prefix)
        drafts = DraftLedger(
            clients.dynamodb, table, egress.sent_ttl_days, lease_s=egress.visibility_timeout_s
        )
        yield DraftSender(chunked, outbound.profile, client, ledger, drafts, pacer, max_inline_wait_s=wait_s)


@contextlib.asynccontextmanager
async def open_channel(
    channel: str, settings: Settings, requests: dict[str, int] | None = None
) -> AsyncIterator[tuple[Queue, Queue, ChannelSender, ClaimChecks]]:
    """The channel's egress queue, its DLQ, its sender and the claim-check reader, for the block
    (`requests`, when given, counts the AWS requests by service: `bus.clients.open_stage_clients`)."""
    endpoint = settings.aws.endpoint_url
    async with (
        open_stage_clients(settings, EgressClients, requests) as clients,
        open_sender(channel, settings, clients) as sender,
    ):
        claim_checks = ClaimChecks(
            clients.s3,
            settings.bus.bucket_name(),
            settings.dispatcher.claim_check_bytes,
            blobs=blob_store(settings, clients),
        )
        name = egress_queue_name(settings.bus.prefix, channel)
        queue = Queue(clients.sqs, name, await resolve_queue_url(clients.sqs, name, endpoint))
        dlq_url = await resolve_queue_url(clients.sqs, dlq_name(name), endpoint)
        yield queue, Queue(clients.sqs, dlq_name(name), dlq_url), sender, claim_checks
