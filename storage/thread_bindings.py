"""Thread bindings in the pairing table (`schemas/thread_binding.py` says what they mean).

One item per bound thread, `thread-binding#<channel>#<account>#<chat>#<thread>` (an empty thread for a
conversation bound as a whole), holding the binding as JSON and `expires_at`, the table's TTL attribute:
the earlier of its idle and max-age ends (none: no TTL). Reads honour the expiry themselves, so a lapsed
binding no longer routes even before DynamoDB deletes it. `touch` moves the idle end on each routed
message; binding again replaces the binding, `unbind` deletes it (OpenClaw's `/session unbind`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from clawbus.bus.clock import epoch_s
from clawbus.schemas.thread_binding import Conversation, ThreadBinding
from clawbus.storage.backends import record_store
from clawbus.storage.records import RecordStore

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

TTL_ATTRIBUTE = "expires_at"


def _key(conversation: Conversation) -> dict[str, str]:
    parts = (
        conversation.channel,
        conversation.account_id,
        conversation.chat_id,
        conversation.thread_id or "",
    )
    return {"pk": "thread-binding#" + "#".join(parts)}


class ThreadBindingStore:
    """The thread bindings of one table (a `RecordStore`)."""

    def __init__(self, records: RecordStore) -> None:
        self._records = records

    async def bind(self, binding: ThreadBinding) -> None:
        """Bind the thread (replacing an earlier binding of it)."""
        item: dict[str, object] = {**_key(binding.conversation), "binding": binding.model_dump_json()}
        ends = binding.expires_at()
        if ends is not None:
            item[TTL_ATTRIBUTE] = epoch_s(ends)
        await self._records.put(item)

    async def find(self, conversation: Conversation, now: datetime) -> ThreadBinding | None:
        """The live binding of the thread, or None."""
        record = await self._records.get(_key(conversation), now=now)
        if record is None:
            return None
        binding = record.model(ThreadBinding, "binding")
        return binding if binding.live(now) else None

    async def touch(self, binding: ThreadBinding, now: datetime) -> ThreadBinding:
        """Note activity in the thread at `now` (the idle end moves); the binding as stored."""
        moved = binding.model_copy(update={"last_active_at": now})
        await self.bind(moved)
        return moved

    async def unbind(self, conversation: Conversation) -> None:
        """Remove the thread's binding (its session goes on)."""
        await self._records.delete(_key(conversation))


def thread_binding_store(dynamodb: DynamoDBClient, table: str) -> ThreadBindingStore:
    """The thread bindings in `table` (the pairing table)."""
    return ThreadBindingStore(record_store(dynamodb, table, ttl_attribute=TTL_ATTRIBUTE))
