"""Delivering one reply on a chat platform: split, pace, send each chunk once, honour 429s.

Every platform sender is the same loop around the channel's `PlatformClient` and `Profile` (its spec's
`outbound`, the only platform-specific parts):

1. each reply part becomes numbered messages (`core.messages`: split under the limit, rendered);
2. a chunk the sent ledger already has is skipped (it went out before a crash or a give-back);
3. the pacer waits until the chat's and the bot's rate windows allow a send;
4. the chunk is sent under this call site's one retry policy (`PLATFORM_POST`, `bus/retry.py`): a 429
   asking for a short wait (≤ `max_inline_wait_s`) is waited out through the pacer and the same chunk
   retried, a longer one raises `Throttled(retry_after=…)` so the consumer gives the message back for
   that long; a 5xx or a dropped connection is retried after a short backoff; after `attempts` tries the
   error goes to the consumer, which gives the message back (the queue's redrive is the outer loop;
   chunks already sent stay recorded and are not sent again);
5. the platform's message id is recorded in the ledger before the next chunk — and before the queue
   message is deleted.

Chunks go out strictly in order, and a session's replies are one FIFO group, so order holds across
chunks and across replies. Typing signals are best-effort: never recorded, never dead-lettered.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable

from clawbus.bus.clock import Clock, utc_now
from clawbus.bus.errors import ClawbusError, RetryableError, Throttled
from clawbus.bus.logging import log_event, session_ref
from clawbus.bus.retry import RetryIn, RetryPolicy
from clawbus.channels.contracts import PlatformClient, Profile, Scopes
from clawbus.egress.core import RatePlan, messages
from clawbus.egress.sent_ledger import SentLedger, sent_key
from clawbus.schemas import OutboundReply, ReplyKind

logger = logging.getLogger(__name__)
_DEFAULT_THROTTLE_S = 1.0
PLATFORM_POST = RetryPolicy(attempts=5, base_s=0.2, max_s=2.0)
"""One chunk's post: 5 tries inline (`max_inline_wait_s` is the sender's setting)."""


class Pacer:
    """Waits out a `RatePlan` on a real clock; shared by every send of one worker process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._plan = RatePlan()
        self._clock = clock
        self._lock = asyncio.Lock()

    async def wait(self, scopes: Scopes) -> None:
        """Return when a send in `scopes` keeps every limit, and count that send."""
        while True:
            async with self._lock:
                delay = self._plan.delay(scopes, self._clock())
                if delay <= 0:
                    self._plan.record(scopes, self._clock())
                    return
            await asyncio.sleep(delay)

    def hold(self, scopes: Scopes, seconds: float) -> None:
        """The platform asked for `seconds` of quiet in these scopes."""
        self._plan.hold(scopes, self._clock() + seconds)


class ChunkedSender:
    """A `ChannelSender` for a chat platform (see the module docstring for the guarantees)."""

    def __init__(
        self,
        profile: Profile,
        client: PlatformClient,
        ledger: SentLedger,
        pacer: Pacer | None = None,
        *,
        max_inline_wait_s: float = 5.0,
        clock: Clock = utc_now,
        policy: RetryPolicy = PLATFORM_POST,
    ) -> None:
        self._profile = profile
        self._client = client
        self._ledger = ledger
        self._pacer = pacer or Pacer()
        self._policy = dataclasses.replace(policy, max_inline_wait_s=max_inline_wait_s)
        self._now = clock

    async def send(self, reply: OutboundReply) -> None:
        """Deliver `reply`; raises a classified error (retryable or permanent) when it cannot.

        Safe to call again with the same reply: chunks already recorded are not sent twice.
        """
        if reply.kind is ReplyKind.TYPING:
            await self._typing(reply)
            return
        first = True
        for part in sorted(reply.parts, key=lambda p: p.index):
            for chunk, text in enumerate(messages(part.text, self._profile)):
                key = sent_key(self._profile.name, reply.reply_id, part.index, chunk)
                if await self._ledger.sent(key, self._now()) is not None:
                    log_event(logger, "egress.chunk.skipped", reply_id=reply.reply_id, chunk=key)
                    first = False
                    continue
                message_id = await self._post(reply, text, first=first, key=key)
                await self._ledger.record(key, message_id, self._now())
                first = False

    async def _post(self, reply: OutboundReply, text: str, *, first: bool, key: str) -> str:
        scopes = self._profile.scopes(reply.target.thread_id or reply.target.chat_id)
        attempt = 0
        while True:
            attempt += 1
            await self._pacer.wait(scopes)
            try:
                return await self._client.post(reply.target, text, first=first, key=key)
            except Throttled as exc:
                wait = exc.retry_after if exc.retry_after is not None else _DEFAULT_THROTTLE_S
                self._pacer.hold(scopes, wait)  # the next `pacer.wait` waits it out
                log_event(
                    logger,
                    "egress.send.throttled",
                    logging.WARNING,
                    channel=self._profile.name,
                    reply_id=reply.reply_id,
                    session=session_ref(reply.session_key),
                    retry_after_s=wait,
                    attempt=attempt,
                )
                if not isinstance(
                    self._policy.decide(Throttled(str(exc), retry_after=wait), attempt), RetryIn
                ):
                    raise Throttled(str(exc), retry_after=wait) from exc
            except RetryableError as exc:
                decision = self._policy.decide(exc, attempt)
                if not isinstance(decision, RetryIn):
                    raise
                log_event(
                    logger,
                    "egress.send.retrying",
                    logging.WARNING,
                    channel=self._profile.name,
                    reply_id=reply.reply_id,
                    error_type=type(exc).__name__,
                    attempt=attempt,
                    delay_s=decision.seconds,
                )
                await asyncio.sleep(decision.seconds)

    async def _typing(self, reply: OutboundReply) -> None:
        try:
            await self._client.typing(reply.target)
        except ClawbusError as exc:
            log_event(
                logger,
                "egress.typing.failed",
                logging.WARNING,
                channel=self._profile.name,
                reply_id=reply.reply_id,
                error_type=type(exc).__name__,
                reason=str(exc)[:300],
            )
