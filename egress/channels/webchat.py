"""WebChat's 'platform API': the `<prefix>-webchat` table, which the WebChat page reads through ingress.

A delivered reply part is one item keyed by conversation and a sequence that sorts in delivery order
(`<created_at ns>#<reply_id>#<part>`). The put is conditional on the item being new, so a redelivered
reply stores nothing twice: sending is idempotent by construction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from clawbus.bus.aws import classify_client_error
from clawbus.schemas import OutboundReply, ReplyKind

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
        self._ddb = dynamodb
        self._table = table

    async def send(self, reply: OutboundReply) -> None:
        """Store each part once; typing signals are not stored (the page shows its own)."""
        if reply.kind is ReplyKind.TYPING:
            return
        expires = int(reply.created_at.timestamp()) + RETENTION_S
        for part in sorted(reply.parts, key=lambda p: p.index):
            try:
                await self._ddb.put_item(
                    TableName=self._table,
                    Item={
                        "conversation": {"S": reply.target.chat_id},
                        "seq": {"S": sequence(reply, part.index)},
                        "reply_id": {"S": reply.reply_id},
                        "in_reply_to": {"L": [{"S": event_id} for event_id in reply.in_reply_to]},
                        "text": {"S": part.text},
                        "expires_at": {"N": str(expires)},
                    },
                    ConditionExpression="attribute_not_exists(seq)",
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    continue  # delivered before a crash or redelivery: nothing to do
                raise classify_client_error(exc, f"PutItem {self._table}") from exc
