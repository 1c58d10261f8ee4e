"""WebChat's history: delivered reply parts per conversation, the WebChat page's 'platform API'.

Table `<prefix>-webchat` (hash `conversation`, range `seq`, TTL `expires_at`): one record per reply part,
`seq` sorting in delivery order (`<created_at ns>#<reply_id>#<part>`). Egress appends (a conditional put,
so a redelivered reply stores nothing twice); ingress reads the parts after a cursor for the long poll.
Both go through this one module, so the record's layout is written down once.

A conversation's first record (`seq` = `OWNER_SEQ`, which sorts before every part) names the client that
created it: a hash of the WebChat token that posted its first message. Ingress writes it (a conditional
put: the first poster wins) and reads parts only for that client. It has no TTL, so a conversation never
falls free for another token to claim while replies to it are still kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from clawbus.bus.clock import utc_now
from clawbus.bus.errors import VersionConflict
from clawbus.bus.topology import LEDGER_TTL_ATTRIBUTE
from clawbus.storage.records import Absent, Record, RecordStore
from clawbus.storage.records_dynamodb import DynamoRecordStore

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

PAGE = 100  # parts per read: the page renders them, then asks again from the new cursor
OWNER_SEQ = "!owner"  # '!' sorts before the digits every part's seq starts with


@dataclass(frozen=True)
class WebchatPart:
    """One delivered reply part."""

    conversation: str
    seq: str
    reply_id: str
    in_reply_to: tuple[str, ...]
    text: str
    # A file the reply sends (its key in the state bucket, media type and name); "" for a text part.
    media_key: str = ""
    media_type: str = ""
    media_name: str = ""

    @classmethod
    def from_record(cls, record: Record) -> WebchatPart:
        """The part a record holds; `CorruptRecord` when an attribute is missing or mistyped."""
        return cls(
            record.text("conversation"),
            record.text("seq"),
            record.text("reply_id"),
            tuple(record.string_list("in_reply_to", [])),
            record.text("text"),
            record.text("media_key", ""),
            record.text("media_type", ""),
            record.text("media_name", ""),
        )


class WebchatHistory:
    """Appends and reads WebChat reply parts."""

    def __init__(self, records: RecordStore) -> None:
        self._records = records

    @classmethod
    def on_dynamodb(cls, dynamodb: DynamoDBClient, table: str) -> WebchatHistory:
        """The history in the `<prefix>-webchat` table."""
        return cls(
            DynamoRecordStore(
                dynamodb, table, hash_key="conversation", range_key="seq", ttl_attribute=LEDGER_TTL_ATTRIBUTE
            )
        )

    async def append(self, part: WebchatPart, expires_at: int) -> bool:
        """Store `part` once; False when it was there already (a redelivery), which is not an error."""
        item = {
            "conversation": part.conversation,
            "seq": part.seq,
            "reply_id": part.reply_id,
            "in_reply_to": list(part.in_reply_to),
            "text": part.text,
            LEDGER_TTL_ATTRIBUTE: expires_at,
        }
        if part.media_key:
            item |= {
                "media_key": part.media_key,
                "media_type": part.media_type,
                "media_name": part.media_name,
            }
        try:
            await self._records.put(item, condition=Absent())
        except VersionConflict:
            return False
        return True

    async def after(self, conversation: str, cursor: str = "", *, now: datetime) -> list[WebchatPart]:
        """The parts after `cursor` ('' for the start), oldest first, at most `PAGE` (never the owner
        record, whatever the cursor)."""
        records = await self._records.query(
            {"conversation": conversation}, after=max(cursor, OWNER_SEQ), limit=PAGE, now=now
        )
        return [WebchatPart.from_record(r) for r in records]

    async def owner(self, conversation: str) -> str | None:
        """The client a conversation belongs to, or None when nobody has posted to it yet."""
        record = await self._records.get({"conversation": conversation, "seq": OWNER_SEQ}, now=utc_now())
        return None if record is None else record.text("client")

    async def claim(self, conversation: str, client: str) -> bool:
        """Make `client` the conversation's owner unless it has one; whether `client` owns it now.

        Safe to retry and to race: of two first posts at once, the conditional put lets one win and the
        other reads the winner.
        """
        owner = await self.owner(conversation)
        if owner is None:
            try:
                await self._records.put(
                    {"conversation": conversation, "seq": OWNER_SEQ, "client": client}, condition=Absent()
                )
            except VersionConflict:
                owner = await self.owner(conversation)
            else:
                owner = client
        return owner == client
