"""WebChat's 'platform API': the `<prefix>-webchat` table, which the WebChat page reads through ingress.

A delivered reply part is one item keyed by conversation and a sequence that sorts in delivery order
(`<created_at ns>#<reply_id>#<part>`). A file the reply sends is one more item after its text, naming the
file's key in the state bucket; the page fetches it through ingress with the run's token
(`GET /webchat/api/media/<key>`). The put is conditional on the item being new, so a redelivered
reply stores nothing twice: sending is idempotent by construction.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from clawbus.bus.topology import webchat_table_name
from clawbus.channels.contracts import SenderDeps
from clawbus.schemas import OutboundReply, ReplyKind
from clawbus.storage.webchat import WebchatHistory, WebchatPart

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

RETENTION_S = 30 * 24 * 3600


def sequence(reply: OutboundReply, index: int) -> str:
    """The sort key of a reply part: replies in the order they were made, parts in order within one."""
    created_ns = int(reply.created_at.timestamp() * 1_000_000_000)
    return f"{created_ns:020d}#{reply.reply_id}#{index:04d}"


class WebchatSender:
    """Stores replies for the WebChat page to fetch."""

    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._history = WebchatHistory.on_dynamodb(dynamodb, table)

    async def send(self, reply: OutboundReply) -> None:
        """Store each part once; typing signals are not stored (the page shows its own)."""
        if reply.kind in (ReplyKind.TYPING, ReplyKind.PROGRESS):  # the page shows its own
            return
        expires = int(reply.created_at.timestamp()) + RETENTION_S
        for part in sorted(reply.parts, key=lambda p: p.index):
            stored = WebchatPart(
                reply.target.chat_id,
                sequence(reply, part.index),
                reply.reply_id,
                tuple(reply.in_reply_to),
                part.text,
            )
            await self._history.append(stored, expires)  # False: delivered before a crash or redelivery
        after = max((part.index for part in reply.parts), default=-1) + 1
        for offset, media in enumerate(reply.media):
            stored = WebchatPart(
                reply.target.chat_id,
                sequence(reply, after + offset),
                reply.reply_id,
                tuple(reply.in_reply_to),
                media.caption,
                media.key,
                media.media_type,
                media.name,
            )
            await self._history.append(stored, expires)


@contextlib.asynccontextmanager
async def open_sender(deps: SenderDeps) -> AsyncIterator[WebchatSender]:
    """The WebChat sender over the run's `<prefix>-webchat` table."""
    yield WebchatSender(deps.dynamodb, webchat_table_name(deps.prefix))
