"""Batching deletes across concurrent tasks: one `DeleteMessageBatch` for up to ten finished messages.

Each task awaits its own delete as if it were alone; deletes that arrive within a short linger share a
request. A delete that fails is retried on its own once, then reported to its caller — a message that
cannot be deleted simply comes back, and the idempotency records make its second handling a no-op.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .aws import map_aws_errors
from .errors import ClawbusError, Unavailable
from .queues import Queue, ReceivedMessage

if TYPE_CHECKING:
    from types_aiobotocore_sqs.type_defs import DeleteMessageBatchRequestEntryTypeDef

BATCH_MAX = 10


class DeleteBatcher:
    """Deletes messages of one queue in batches of up to ten, lingering `linger_s` for company."""

    def __init__(self, queue: Queue, linger_s: float = 0.005) -> None:
        self._queue = queue
        self._linger_s = linger_s
        self._pending: list[tuple[ReceivedMessage, asyncio.Future[None]]] = []
        self._timer: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self.requests = 0

    async def delete(self, message: ReceivedMessage) -> None:
        """Delete `message`; returns when it is gone, raises a `ClawbusError` when it could not be."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((message, future))
        if len(self._pending) >= BATCH_MAX:
            self._flush_now()
        elif self._timer is None:
            self._timer = asyncio.create_task(self._linger())
        await future

    async def _linger(self) -> None:
        await asyncio.sleep(self._linger_s)
        self._timer = None
        self._flush_now()

    def _flush_now(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending[:BATCH_MAX], self._pending[BATCH_MAX:]
        if batch:
            task = asyncio.create_task(self._send(batch))
            self._sending.add(task)  # held here and awaited by `close`; callers await their futures
            task.add_done_callback(self._sending.discard)
        if self._pending:
            self._flush_now()

    async def _send(self, batch: list[tuple[ReceivedMessage, asyncio.Future[None]]]) -> None:
        entries: list[DeleteMessageBatchRequestEntryTypeDef] = [
            {"Id": str(i), "ReceiptHandle": m.receipt_handle} for i, (m, _) in enumerate(batch)
        ]
        self.requests += 1
        try:
            with map_aws_errors(f"DeleteMessageBatch {self._queue.name}"):
                response = await self._queue.sqs.delete_message_batch(
                    QueueUrl=self._queue.url, Entries=entries
                )
        except ClawbusError as exc:
            for _, future in batch:
                _settle(future, exc)
            return
        failed = {entry["Id"] for entry in response.get("Failed", [])}
        for i, (message, future) in enumerate(batch):
            if str(i) not in failed:
                _settle(future, None)
                continue
            try:  # one more try on its own; a receipt may have been renewed meanwhile
                await self._queue.delete(message)
                _settle(future, None)
            except ClawbusError as exc:
                _settle(future, exc)
            except Exception as exc:  # never leave a caller waiting
                _settle(future, Unavailable(f"delete failed: {type(exc).__name__}"))

    async def close(self) -> None:
        """Flush what is pending and wait for every batch in flight (on shutdown)."""
        self._flush_now()
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)


def _settle(future: asyncio.Future[None], error: Exception | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
