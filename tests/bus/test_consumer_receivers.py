"""Several receives out at once while there is a backlog, one while the queue is idle (loopback SQS)."""

from __future__ import annotations

import asyncio

from clawbus.bus.consumer import ConsumerConfig, FifoConsumer
from clawbus.bus.queues import Queue
from clawbus.bus.sqs_record import SqsRecord
from tests.conftest import Bus


class CountingQueue(Queue):
    """A queue that counts the receives it has out at once."""

    out = 0
    most = 0
    calls = 0

    async def receive(
        self, max_messages: int, wait_time_s: int, visibility_timeout_s: int | None = None
    ) -> list[SqsRecord]:
        self.out += 1
        self.calls += 1
        self.most = max(self.most, self.out)
        try:
            return await super().receive(max_messages, wait_time_s, visibility_timeout_s)
        finally:
            self.out -= 1


async def _queues(bus: Bus, sqs: object, name: str) -> tuple[str, str]:
    create = sqs.create_queue  # type: ignore[attr-defined]
    url = (await create(QueueName=f"{bus.prefix}-{name}.fifo", Attributes={"FifoQueue": "true"}))["QueueUrl"]
    dlq = (await create(QueueName=f"{bus.prefix}-{name}-dlq.fifo", Attributes={"FifoQueue": "true"}))[
        "QueueUrl"
    ]
    return url, dlq


async def test_a_backlog_is_received_by_several_receivers_never_past_the_concurrency(bus: Bus) -> None:
    async with bus.aio("sqs") as sqs:
        url, dlq_url = await _queues(bus, sqs, "r")
        for batch in range(8):  # 80 messages, 40 groups of two: each group's pair in order
            entries = [
                {
                    "Id": str(n),
                    "MessageBody": f"{batch * 10 + n}",
                    "MessageGroupId": f"g{(batch * 10 + n) % 40}",
                    "MessageDeduplicationId": f"{batch}-{n}",
                }
                for n in range(10)
            ]
            await sqs.send_message_batch(QueueUrl=url, Entries=entries)
        running = 0
        most_running = 0
        seen: dict[str, list[int]] = {}
        stop = asyncio.Event()

        async def handler(unit: list[SqsRecord]) -> None:
            nonlocal running, most_running
            running += 1
            most_running = max(most_running, running)
            await asyncio.sleep(0.05)
            seen.setdefault(unit[0].group_id, []).append(int(unit[0].body))
            running -= 1
            if sum(len(v) for v in seen.values()) == 80:
                stop.set()

        queue = CountingQueue(sqs, "r.fifo", url)
        consumer = FifoConsumer(
            queue,
            Queue(sqs, "r-dlq.fifo", dlq_url),
            handler,
            ConsumerConfig(stage="test", concurrency=30, wait_time_s=1, receivers=3),
        )
        await asyncio.wait_for(consumer.run(stop), timeout=60)

    assert queue.most >= 2  # a full receive found more waiting: other receivers polled beside it
    assert most_running <= 30
    assert all(bodies == sorted(bodies) for bodies in seen.values())  # order held within every group
    assert sum(len(v) for v in seen.values()) == 80


async def test_an_idle_queue_has_one_receive_out_at_a_time(bus: Bus) -> None:
    async with bus.aio("sqs") as sqs:
        url, dlq_url = await _queues(bus, sqs, "i")
        stop = asyncio.Event()

        async def handler(unit: list[SqsRecord]) -> None:
            raise AssertionError("nothing was sent")

        queue = CountingQueue(sqs, "i.fifo", url)
        consumer = FifoConsumer(
            queue,
            Queue(sqs, "i-dlq.fifo", dlq_url),
            handler,
            ConsumerConfig(stage="test", concurrency=30, wait_time_s=0, receivers=3),
        )
        task = asyncio.create_task(consumer.run(stop))
        await asyncio.sleep(1.5)
        stop.set()
        await asyncio.wait_for(task, timeout=10)

    assert queue.calls >= 2  # it kept polling
    assert queue.most == 1
