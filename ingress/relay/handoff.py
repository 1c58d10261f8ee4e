"""Handing one received platform event to the same intake the webhooks use.

`Handoff.hand_over` runs the channel's pure normaliser (`channels/<channel>/inbound.py`) and then
`Intake.accept` (claim → gate → enqueue or pairing reply → done). When it returns, the transport may
acknowledge the event to the platform:

- enqueued, refused by the gate, a duplicate, or not a turn at all → returns;
- not a payload of the platform (`InvalidEnvelope`) → logged as `ingress.payload.invalid`; returns,
  so the platform does not redeliver it forever;
- the inbound queue unreachable → retried in process with jittered backoff for
  `CLAWBUS_RELAY__ENQUEUE_RETRY_S`, then `RetryableError` propagates: Telegram fetches the update again
  (its offset did not move), Slack redelivers the envelope (it was not acked), Discord's gateway cannot
  redeliver, so its transport logs the message as dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential_jitter

from clawbus.bus.errors import InvalidEnvelope, PermanentError, RetryableError, Unavailable
from clawbus.bus.logging import log_event
from clawbus.channels.normalised import Context, Parsed
from clawbus.ingress.intake import Intake

logger = logging.getLogger(__name__)

Normaliser = Callable[[Context], Parsed]


class Handoff:
    """Normalise and accept events of one channel, retrying an unreachable queue in process."""

    def __init__(self, intake: Intake, channel: str, *, retry_for_s: float) -> None:
        self._intake = intake
        self.channel = channel
        self._retry_for_s = retry_for_s
        # Libraries run each event's listener as its own task (discord.py, slack_sdk); handing over one at
        # a time, in arrival order (asyncio.Lock is FIFO), keeps a session's turns in the order sent.
        self._order = asyncio.Lock()

    async def hand_over(self, normalise: Normaliser) -> None:
        """Normalise (given the intake's context) and enqueue; once it returns, the event may be acked.

        Raises:
            RetryableError: the event could not be enqueued within the retry window; do not ack it.
        """
        async with self._order:
            await self._hand_over(normalise)

    async def _hand_over(self, normalise: Normaliser) -> None:
        try:
            parsed = normalise(self._intake.context())
        except InvalidEnvelope as exc:
            log_event(
                logger, "ingress.payload.invalid", logging.WARNING, channel=self.channel, reason=str(exc)
            )
            return
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(RetryableError),
            wait=wait_exponential_jitter(multiplier=0.2, max=5, jitter=0.2),
            stop=stop_after_delay(self._retry_for_s),
            reraise=True,
        ):
            with attempt:
                await self._accept(parsed)

    async def _accept(self, parsed: Parsed) -> None:
        try:
            await self._intake.accept(self.channel, parsed)
        except RetryableError as exc:
            log_event(
                logger, "ingress.enqueue.failed", logging.WARNING, channel=self.channel, reason=str(exc)
            )
            raise
        except PermanentError as exc:  # e.g. the queue not found: the webhook answers 503 for this too
            log_event(logger, "ingress.enqueue.failed", logging.ERROR, channel=self.channel, reason=str(exc))
            raise Unavailable(f"the inbound queue cannot be reached: {exc}") from exc
