"""Publishing a turn's reply envelopes to the outbound topic, exactly as the ledger records them.

A reply becomes a `Publication` first (its body claim-checked when too big for SNS, its FIFO group and
dedup id fixed), so what the ledger stores is byte for byte what went out, and a re-run publishes the
same messages, which the topic's deduplication then drops where already sent.
"""

from __future__ import annotations

from typing import Protocol

from clawbus.bus.tracing import inject_context
from clawbus.dispatcher.ledger import Publication
from clawbus.schemas import OutboundReply, attributes, message_group_id
from clawbus.storage.claim_check import ClaimChecks


class ReplyPublisher(Protocol):
    """Publishes reply envelopes to the outbound topic."""

    async def publish(
        self, body: str, *, group_id: str, dedup_id: str, attributes: dict[str, str]
    ) -> None: ...


class Publisher:
    """Turns replies into publications and sends them, with the channel, kind and trace attributes."""

    def __init__(self, replies: ReplyPublisher, claim_checks: ClaimChecks) -> None:
        self._replies = replies
        self._claim_checks = claim_checks

    async def publication(self, reply: OutboundReply, dedup_id: str | None = None) -> Publication:
        """`reply` as it will be published (its body offloaded to the claim-check bucket when large)."""
        return Publication(
            body=await self._claim_checks.offload(reply.to_wire()),
            channel=reply.channel,
            kind=reply.kind.value,
            group_id=message_group_id(reply.session_key),
            dedup_id=dedup_id or reply.reply_id,
        )

    async def send_all(self, publications: tuple[Publication, ...]) -> None:
        """Send `publications` in order."""
        for publication in publications:
            await self.send(publication)

    async def send(self, publication: Publication) -> None:
        """Send one publication, carrying the current trace context."""
        await self._replies.publish(
            publication.body,
            group_id=publication.group_id,
            dedup_id=publication.dedup_id,
            attributes={
                attributes.CHANNEL: publication.channel,
                attributes.KIND: publication.kind,
                **inject_context(),
            },
        )
