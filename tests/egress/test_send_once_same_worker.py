"""A second delivery of a reply this worker is still sending waits for it, whatever the ledger's lease
says: after an outage of the AWS API longer than the lease, the worker's own send looked interrupted, and
a platform that cannot tell what it has (Telegram, WhatsApp) showed the chunk twice."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from clawbus.bus.errors import RetryableError
from clawbus.channels.contracts import SendIntent
from clawbus.channels.telegram.outbound import PROFILE
from clawbus.egress.chunked_sender import ChunkedSender
from clawbus.egress.core.send_once import ChunkRecord, HeldIntent, SendReceipt
from clawbus.schemas import OutboundReply, ReplyPart, ReplyTarget


class LapsingLedger:
    """A sent ledger whose every lease has already run out (the outage outlasted it)."""

    def __init__(self) -> None:
        self.records: dict[str, ChunkRecord] = {}

    async def find(self, key: str, now: datetime) -> ChunkRecord:
        return self.records.get(key)

    async def intend(self, intent: SendIntent, now: datetime) -> bool:
        if isinstance(self.records.get(intent.key), SendReceipt):
            return False
        self.records[intent.key] = HeldIntent(intent, lease_until=now - timedelta(seconds=1))
        return True

    async def intend_new(self, intent: SendIntent, now: datetime) -> bool:
        if intent.key in self.records:
            return False
        return await self.intend(intent, now)

    async def receipt(self, receipt: SendReceipt, now: datetime) -> None:
        self.records[receipt.key] = receipt

    async def forget(self, key: str) -> None:
        self.records.pop(key, None)

    async def interrupted(self, intent: SendIntent, now: datetime) -> None:
        return None  # every lease here has already run out


class SlowPlatform:
    """A platform that cannot reconcile and answers the first post only when released."""

    def __init__(self) -> None:
        self.posted: list[str] = []
        self.release = asyncio.Event()

    async def post(self, target: ReplyTarget, text: str, *, first: bool, key: str) -> str:
        self.posted.append(text)
        await self.release.wait()
        return str(len(self.posted))

    async def typing(self, target: ReplyTarget) -> None:
        return None


async def test_a_second_delivery_waits_for_this_workers_own_send_instead_of_posting_again() -> None:
    platform, ledger = SlowPlatform(), LapsingLedger()
    sender = ChunkedSender(PROFILE, platform, ledger, max_inline_wait_s=1)
    reply = OutboundReply(
        reply_id="rp-1",
        session_key="agent:main:telegram:direct:1",
        channel="telegram",
        target=ReplyTarget(chat_id="1"),
        parts=(ReplyPart(index=0, text="only once"),),
    )
    first = asyncio.create_task(sender.send(reply))
    while not platform.posted:
        await asyncio.sleep(0.01)
    with pytest.raises(RetryableError, match="being sent by this worker"):
        await asyncio.wait_for(sender.send(reply), 5)  # the same reply again, its lease already over
    platform.release.set()
    await first
    await sender.send(reply)  # given back and delivered again later: the receipt is there
    assert platform.posted == ["only once"]
