"""Building ingress's pieces from settings and open AWS clients (shared by the ASGI app, Lambda, relay)."""

from __future__ import annotations

from clawbus.bus.clients import IngressClients
from clawbus.bus.queues import Queue, Topic, resolve_queue_url, resolve_topic_arn
from clawbus.bus.settings import Settings
from clawbus.bus.topology import (
    inbound_queue_name,
    ledger_table_name,
    outbound_topic_name,
    pairing_table_name,
)
from clawbus.ingress.dedup_store import DynamoDedupStore
from clawbus.ingress.intake import Intake
from clawbus.ingress.pairing_store import DynamoPairingStore
from clawbus.ingress.publisher import InboundPublisher
from clawbus.storage.identity_links import identity_link_store
from clawbus.storage.thread_bindings import thread_binding_store


async def build_intake(settings: Settings, clients: IngressClients) -> tuple[Intake, InboundPublisher]:
    """The intake over the inbound queue, the outbound topic, the ledger and the pairing table (pairing
    and `/link` records)."""
    prefix, endpoint = settings.bus.prefix, settings.aws.endpoint_url
    queue_name, topic_name = inbound_queue_name(prefix), outbound_topic_name(prefix)
    publisher = InboundPublisher(
        Queue(clients.sqs, queue_name, await resolve_queue_url(clients.sqs, queue_name, endpoint)),
        settings.session.reset_triggers,
        settings.dispatcher.queue.mode_for,
    )
    topic = Topic(clients.sns, topic_name, await resolve_topic_arn(clients.sns, topic_name, endpoint))
    intake = Intake(
        settings,
        publisher=publisher,
        replies=topic,
        dedup=DynamoDedupStore(clients.dynamodb, ledger_table_name(prefix), settings.ingress.dedup_ttl_s),
        pairing=DynamoPairingStore(clients.dynamodb, pairing_table_name(prefix)),
        links=identity_link_store(clients.dynamodb, pairing_table_name(prefix)),
        threads=thread_binding_store(clients.dynamodb, pairing_table_name(prefix)),
    )
    return intake, publisher
