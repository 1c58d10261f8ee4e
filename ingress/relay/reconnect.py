"""Keeping one platform connection up: run a session, and after it ends, back off and open another.

A transport's `session` holds one connection (a long-polling loop, a WebSocket) until `stop` is set or
the connection fails. `keep_connected` runs sessions back to back: a failure is logged as
`relay.connection.lost` and followed by a jittered exponential delay (`relay.connection.retrying`), so
a platform outage does not turn into a reconnect storm. `Unauthorized` and `ConfigError` end the relay
instead: no number of reconnects fixes a revoked token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from clawbus.bus.errors import ConfigError, RetryableError, Unauthorized
from clawbus.bus.logging import log_event
from clawbus.channels.contracts import RelayTransport, Stopped

logger = logging.getLogger(__name__)
STABLE_AFTER_S = 60.0  # a session that lasted this long resets the backoff
Transport = RelayTransport  # one platform connection (a channel spec's `relay.connect` builds it)


@dataclass(frozen=True)
class Backoff:
    """Jittered exponential delays: `initial_s * 2**failures`, capped at `max_s`, +/- `jitter`."""

    initial_s: float = 1.0
    max_s: float = 60.0
    jitter: float = 0.2

    def delay(self, failures: int, rand: Callable[[], float] = random.random) -> float:
        """The wait before reconnecting after `failures` failures in a row (at least 1)."""
        base = min(self.max_s, self.initial_s * 2.0 ** max(0, min(failures - 1, 30)))
        return base * (1 - self.jitter + 2 * self.jitter * rand())


async def keep_connected(transport: Transport, stop: asyncio.Event, backoff: Backoff) -> None:
    """Run `transport`'s sessions until `stop`; raises only `Unauthorized` or `ConfigError`."""
    failures = 0
    while not stop.is_set():
        started = time.monotonic()
        reason, asked_wait = "closed", 0.0
        try:
            await transport.session(stop)
        except Stopped:
            break
        except (Unauthorized, ConfigError):
            raise
        except Exception as exc:  # the loop's outer guard: log, back off, reconnect
            reason = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, RetryableError) and exc.retry_after:
                asked_wait = exc.retry_after  # the platform said how long (Telegram's flood control)
        if stop.is_set():
            break
        failures = 1 if time.monotonic() - started >= STABLE_AFTER_S else failures + 1
        wait_s = max(backoff.delay(failures), asked_wait)
        log_event(
            logger,
            "relay.connection.lost",
            logging.WARNING,
            channel=transport.channel,
            transport=transport.name,
            reason=reason,
            attempt=failures,
        )
        log_event(
            logger,
            "relay.connection.retrying",
            channel=transport.channel,
            transport=transport.name,
            retry_in_s=round(wait_s, 3),
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait_s)
