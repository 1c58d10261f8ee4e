"""`clawbus bench`'s ingress figures: signed Telegram webhooks against the real `clawbus ingress`.

Two measurements on the same endpoint and queue, with the same concurrency and message count:
the floor — bare `SendMessage` calls onto the inbound queue — and ingress accepting signed webhook
requests (verify, dedup record, enqueue, acknowledge). Separately, requests sent at a steady rate below
capacity give the acknowledgement latency (p50/p99).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import httpx

from clawbus.channels.telegram.inbound import signed_headers as telegram_headers

if TYPE_CHECKING:
    from types_aiobotocore_sqs import SQSClient

SECRET = "bench-secret"  # noqa: S105  # the loopback bench's own webhook secret
BOT_TOKEN = "123456:bench"  # noqa: S105


def update(n: int, run: str) -> bytes:
    """A Telegram update: a private message from user `n` (each its own session)."""
    user = 10_000 + n
    return json.dumps(
        {
            "update_id": n,
            "message": {
                "message_id": n,
                "date": int(time.time()),
                "chat": {"id": user, "type": "private"},
                "from": {"id": user, "is_bot": False, "first_name": f"{run}{n}"},
                "text": f"g{n} m0",
            },
        }
    ).encode()


async def floor_sends(sqs: SQSClient, url: str, count: int, concurrency: int, run: str) -> float:
    """Bare SendMessage calls (one message each, like one webhook each); messages per second."""
    next_n = iter(range(count))

    async def sender() -> None:
        for n in next_n:
            await sqs.send_message(
                QueueUrl=url,
                MessageBody=update(n, run).decode(),
                MessageGroupId=f"floor-{run}-{n}",
                MessageDeduplicationId=f"floor-{run}-{n}",
            )

    started = time.monotonic()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return count / (time.monotonic() - started)


async def aws_requests(base_url: str) -> int:
    """The AWS requests ingress has sent so far, all services (its `/healthz`)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
        counts: dict[str, int] = (await client.get("/healthz")).json()["aws_requests"]
    return sum(counts.values())


async def ingress_accepts(base_url: str, count: int, concurrency: int, offset: int) -> tuple[float, int]:
    """Signed webhook requests as fast as `concurrency` clients can send; (accepted per second, refused)."""
    next_n = iter(range(offset, offset + count))
    refused = 0

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal refused
        for n in next_n:
            response = await client.post(
                "/webhooks/telegram", content=update(n, "i"), headers=telegram_headers(SECRET)
            )
            refused += response.status_code != 200

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        started = time.monotonic()
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
        elapsed = time.monotonic() - started
    return (count - refused) / elapsed, refused


async def steady_latency(
    call: Callable[[int], Awaitable[bool]], rate_per_s: float, count: int
) -> dict[str, float]:
    """`call(i)` for i in 0..count-1 at a steady rate (each started on time, whatever the earlier ones
    take); the percentiles in milliseconds of those that returned True."""
    latencies: list[float] = []

    async def one(i: int) -> None:
        started = time.monotonic()
        if await call(i):
            latencies.append((time.monotonic() - started) * 1000)

    tasks = []
    start = time.monotonic()
    for i in range(count):
        delay = start + i / rate_per_s - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")
    return {"p50": round(statistics.median(ordered), 1) if ordered else float("nan"), "p99": round(p99, 1)}


async def ack_latency(base_url: str, rate_per_s: float, count: int, offset: int) -> dict[str, float]:
    """Webhook requests at a steady rate; the acknowledgement latency percentiles in milliseconds."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:

        async def post(i: int) -> bool:
            n = offset + i
            headers = telegram_headers(SECRET)
            response = await client.post("/webhooks/telegram", content=update(n, "l"), headers=headers)
            return response.status_code == 200

        return await steady_latency(post, rate_per_s, count)


async def send_latency(sqs: SQSClient, url: str, rate_per_s: float, count: int, run: str) -> dict[str, float]:
    """Bare SendMessage calls at a steady rate (the ack's baseline: what one AWS call takes meanwhile)."""

    async def send(n: int) -> bool:
        group = f"steady-{run}-{n}"
        await sqs.send_message(
            QueueUrl=url,
            MessageBody=update(n, run).decode(),
            MessageGroupId=group,
            MessageDeduplicationId=group,
        )
        return True

    return await steady_latency(send, rate_per_s, count)
