"""Reconnect policy: jittered exponential delays, retries until stopped, a refused token ends the relay."""

from __future__ import annotations

import asyncio

import pytest

from clawbus.bus.errors import Unauthorized, Unavailable
from clawbus.ingress.relay import Backoff, keep_connected
from tests.helpers import eventually


def test_delays_double_from_the_first_up_to_the_cap_within_the_jitter() -> None:
    backoff = Backoff(initial_s=1.0, max_s=8.0, jitter=0.2)
    assert [backoff.delay(n, rand=lambda: 0.5) for n in range(1, 7)] == [1, 2, 4, 8, 8, 8]
    assert backoff.delay(3, rand=lambda: 0.0) == pytest.approx(3.2)
    assert backoff.delay(3, rand=lambda: 1.0) == pytest.approx(4.8)


class Flaky:
    """Fails `failures` sessions, then holds the connection until stopped."""

    channel, name = "telegram", "test"

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error, self.sessions = failures, error, 0

    async def session(self, stop: asyncio.Event) -> None:
        self.sessions += 1
        if self.sessions <= self.failures:
            raise self.error
        await stop.wait()


async def test_failed_sessions_are_reopened_until_one_holds_and_stop_ends_it() -> None:
    stop = asyncio.Event()
    transport = Flaky(3, Unavailable("Bad Gateway"))
    task = asyncio.create_task(keep_connected(transport, stop, Backoff(0.01, 0.05)))
    await eventually(lambda: asyncio.sleep(0, transport.sessions == 4), what="the fourth session")
    stop.set()
    await asyncio.wait_for(task, 5)
    assert transport.sessions == 4


async def test_a_refused_token_is_not_retried() -> None:
    transport = Flaky(10, Unauthorized("check CLAWBUS_TELEGRAM__BOT_TOKEN"))
    with pytest.raises(Unauthorized, match="CLAWBUS_TELEGRAM__BOT_TOKEN"):
        await asyncio.wait_for(keep_connected(transport, asyncio.Event(), Backoff(0.01, 0.05)), 5)
    assert transport.sessions == 1
