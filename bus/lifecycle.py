"""Process lifecycle for the long-running stages: signals to a stop event, and the `started` log line.

SIGTERM (ECS, `clawbus up`) and SIGINT (Ctrl-C) both set the stop event; the stage then stops taking work,
drains within its grace period and exits 0. A stage logs `<stage>.started` once it is ready, which is what
`clawbus up` and the test fixtures wait for.
"""

from __future__ import annotations

import asyncio
import signal


def stop_on_signals(stop: asyncio.Event) -> None:
    """Set `stop` on SIGTERM or SIGINT (call from inside the running loop)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


async def first_of(wanted: asyncio.Event, stop: asyncio.Event) -> bool:
    """Wait for `wanted` or `stop`; whether `wanted` came (and `stop` is not set)."""
    if not wanted.is_set():
        waits = [asyncio.create_task(wanted.wait()), asyncio.create_task(stop.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()
    return wanted.is_set() and not stop.is_set()
