"""Which sender a channel's worker uses, built from settings (shared by the process and Lambda)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

from clawbus.bus.clients import EgressClients, open_stage_clients
from clawbus.bus.errors import ConfigError
from clawbus.bus.queues import Queue, resolve_queue_url
from clawbus.bus.settings import Settings
from clawbus.bus.topology import dlq_name, egress_queue_name, ledger_table_name, webchat_table_name
from clawbus.egress.channels import WebchatSender, open_discord, open_slack, open_telegram, open_whatsapp
from clawbus.egress.chunked_sender import ChunkedSender, PlatformClient
from clawbus.egress.core import PROFILES
from clawbus.egress.reply_handler import ChannelSender
from clawbus.egress.sent_ledger import DynamoSentLedger
from clawbus.storage.backends import blob_store
from clawbus.storage.claim_check import ClaimChecks

_Opener = Callable[[Settings, float], AbstractAsyncContextManager[PlatformClient]]
_OPENERS: dict[str, _Opener] = {
    "telegram": lambda s, t: open_telegram(s.telegram, t),
    "slack": lambda s, t: open_slack(s.slack, t),
    "discord": lambda s, t: open_discord(s.discord, t),
    "whatsapp": lambda s, t: open_whatsapp(s.whatsapp, t),
}


@contextlib.asynccontextmanager
async def open_sender(
    channel: str, settings: Settings, clients: EgressClients
) -> AsyncIterator[ChannelSender]:
    """The sender for `channel` for the life of the block, or a `ConfigError` naming what to set."""
    if channel == "webchat":
        yield WebchatSender(clients.dynamodb, webchat_table_name(settings.bus.prefix))
        return
    opener = _OPENERS.get(channel)
    if opener is None:
        raise ConfigError(f"no egress sender for channel {channel!r}; known: webchat, {', '.join(_OPENERS)}")
    egress = settings.egress
    ledger = DynamoSentLedger(clients.dynamodb, ledger_table_name(settings.bus.prefix), egress.sent_ttl_days)
    async with opener(settings, egress.request_timeout_s) as client:
        yield ChunkedSender(PROFILES[channel], client, ledger, max_inline_wait_s=egress.max_inline_wait_s)


@contextlib.asynccontextmanager
async def open_channel(
    channel: str, settings: Settings
) -> AsyncIterator[tuple[Queue, Queue, ChannelSender, ClaimChecks]]:
    """The channel's egress queue, its DLQ, its sender and the claim-check reader, for the block."""
    endpoint = settings.aws.endpoint_url
    async with (
        open_stage_clients(settings, EgressClients) as clients,
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
