"""Delivering one reply on a chat platform: split, pace, send each chunk and file once, honour 429s.

The same loop serves every platform through the channel's `PlatformClient` and `Profile`:
1. each part becomes numbered messages (`core.messages`, the channel's chunk mode), then each attached
   file one more "chunk" (`media_delivery`);
2. a chunk with a receipt in the sent ledger is skipped; one with an interrupted intent is reconciled
   with the platform first, where it can tell (`Reconciles`; `core/send_once.py`), else posted again
   with a WARNING (`egress.send.unknown_resent`: shown twice beats lost);
3. the pacer waits for the chat's and the bot's rate windows; the post runs under one retry policy
   (`PLATFORM_POST`): a short 429 is waited out, a long one raises `Throttled` so the consumer gives the
   message back, a 5xx backs off, and the queue's redrive is the outer loop;
4. an intent is recorded before the call and the receipt (the platform's message id) after it, before
   the next chunk and before the queue message is deleted (docs/channels/egress.md); a chunk's first
   delivery writes its intent without reading the ledger first (only where no record is live: an
   interrupted intent is never taken this way, it is reconciled as in 2).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from opentelemetry import metrics

from clawbus.bus.clock import Clock, utc_now
from clawbus.bus.errors import ClawbusError, DeadlineExceeded, PermanentError, RetryableError, Throttled
from clawbus.bus.logging import log_event, session_ref
from clawbus.bus.retry import RetryIn, RetryPolicy
from clawbus.channels.chunk_keys import send_nonce, sent_key
from clawbus.channels.contracts import (
    Outcome,
    PlatformClient,
    Profile,
    Reconciled,
    Reconciles,
    SendIntent,
)
from clawbus.egress.core import ChunkMode, messages
from clawbus.egress.core.send_once import Adopt, Ask, HeldIntent, Post, SendReceipt, Skip, Wait, decide
from clawbus.egress.media_delivery import MediaDelivery, MediaSource, media_key
from clawbus.egress.pacer import Pacer
from clawbus.egress.sent_ledger import SentLedger
from clawbus.schemas import OutboundReply, ReplyKind, ReplyMedia

logger = logging.getLogger(__name__)
_RECONCILED = metrics.get_meter("clawbus").create_counter(
    "clawbus.egress.reconciled", unit="{chunk}", description="interrupted sends by reconcile outcome"
)
_DEFAULT_THROTTLE_S = 1.0
PLATFORM_POST = RetryPolicy(attempts=5, base_s=0.2, max_s=2.0)
"""One chunk's post: 5 tries inline (`max_inline_wait_s` is the sender's setting)."""


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
        chunk_mode: ChunkMode = ChunkMode.LENGTH,
        media: MediaSource | None = None,
    ) -> None:
        self._profile = profile
        self._client = client
        self._ledger = ledger
        self._pacer = pacer or Pacer()
        self._policy = dataclasses.replace(policy, max_inline_wait_s=max_inline_wait_s)
        self._now = clock
        self._sending: set[str] = set()  # chunk keys this worker is sending now
        self._chunk_mode = chunk_mode
        self._media = MediaDelivery(profile, client, media)

    async def send(self, reply: OutboundReply) -> None:
        """Deliver `reply`; raises a classified error (retryable or permanent) when it cannot.

        Safe to call again with the same reply: chunks already recorded are not sent twice.
        """
        if reply.kind is ReplyKind.TYPING:
            await self._typing(reply)
            return
        if reply.kind is ReplyKind.PROGRESS:  # a draft needs edits: `egress/drafts.py`, where the client can
            return
        first = True
        for part in sorted(reply.parts, key=lambda p: p.index):
            for chunk, text in enumerate(messages(part.text, self._profile, mode=self._chunk_mode)):
                key = sent_key(self._profile.name, reply.reply_id, part.index, chunk)
                await self._send_once(reply, text, first=first, key=key)
                first = False
        await self.send_media(reply, first=first)

    async def send_media(self, reply: OutboundReply, *, first: bool) -> None:
        """Send the reply's files once each, after its text (the path `send` takes for them)."""
        for index, media in enumerate(reply.media):
            key = media_key(self._profile.name, reply.reply_id, index)
            await self._send_once(reply, media, first=first, key=key)
            first = False

    async def send_chunk(self, reply: OutboundReply, text: str, *, first: bool, key: str) -> None:
        """Send one rendered chunk of `reply` once (the path `send` takes for each chunk)."""
        await self._send_once(reply, text, first=first, key=key)

    async def _send_once(
        self, reply: OutboundReply, item: str | ReplyMedia, *, first: bool, key: str
    ) -> None:
        """One chunk through the ledger, unless this worker is still sending it: after an AWS outage
        longer than the ledger's lease its own send looks interrupted, and asking the platform then
        may post it twice, so a second delivery of the reply is given back instead."""
        if key in self._sending:
            raise RetryableError(f"chunk {key} is being sent by this worker", retry_after=1.0)
        self._sending.add(key)
        try:
            await self._send_through_ledger(reply, item, first=first, key=key)
        finally:
            self._sending.discard(key)

    async def _send_through_ledger(
        self, reply: OutboundReply, item: str | ReplyMedia, *, first: bool, key: str
    ) -> None:
        """Post a chunk never tried; else skip, wait, reconcile or post (`core.send_once.decide`)."""
        now = self._now()
        fresh = SendIntent(key, send_nonce(key), now)
        if await self._ledger.intend_new(fresh, now):  # no record was live: what `decide` calls new
            message_id = await self._post_intended(reply, item, first=first, intent=fresh)
            await self._ledger.receipt(SendReceipt(key, message_id), self._now())
            return
        answer: Reconciled | None = None
        for _ in range(3):  # a round ends early only when another worker changed the record under us
            now = self._now()
            record = await self._ledger.find(key, now)
            match decide(record, now, answer):
                case Skip():
                    log_event(logger, "egress.chunk.skipped", reply_id=reply.reply_id, chunk=key)
                    return
                case Wait(until=until):
                    raise RetryableError(
                        f"chunk {key} is being sent by another worker (lease until {until.isoformat()})",
                        retry_after=max(1.0, (until - now).total_seconds()),
                    )
                case Ask(intent=intent):
                    answer = await self._reconcile(reply, intent, now, media=isinstance(item, ReplyMedia))
                case Adopt(message_id=message_id):
                    await self._ledger.receipt(SendReceipt(key, message_id), self._now())
                    return
                case Post(reason=reason, warn=warn):
                    old = record.intent if isinstance(record, HeldIntent) else None
                    intent = old or SendIntent(key, send_nonce(key), now)  # keep the first attempt's time
                    if not await self._ledger.intend(intent, now):
                        answer = None
                        continue
                    if warn:
                        log_event(
                            logger,
                            "egress.send.unknown_resent",
                            logging.WARNING,
                            channel=self._profile.name,
                            reply_id=reply.reply_id,
                            chunk=key,
                            reason="the platform cannot tell whether the interrupted send arrived",
                        )
                    if reason != "new":
                        _RECONCILED.add(1, {"channel": self._profile.name, "outcome": reason})
                    message_id = await self._post_intended(reply, item, first=first, intent=intent)
                    await self._ledger.receipt(SendReceipt(key, message_id), self._now())
                    return
        raise RetryableError(f"chunk {key}: its ledger record kept changing under this worker")

    async def _reconcile(
        self, reply: OutboundReply, intent: SendIntent, now: datetime, *, media: bool
    ) -> Reconciled:
        """Ask the platform about an interrupted send; `UNKNOWN` when it cannot tell."""
        answer = Reconciled(Outcome.UNKNOWN)
        if isinstance(self._client, Reconciles) and (not media or self._media.reconciles):
            try:
                answer = await self._client.reconcile(reply.target, intent, now)
            except PermanentError as exc:  # e.g. a missing history scope: cannot tell
                self._check_failed(intent, exc)
        log_event(
            logger,
            "egress.send.reconciled",
            channel=self._profile.name,
            reply_id=reply.reply_id,
            chunk=intent.key,
            outcome=answer.outcome.value,
            intended_at=intent.intended_at.isoformat(),
        )
        if answer.outcome is Outcome.SENT:
            _RECONCILED.add(1, {"channel": self._profile.name, "outcome": answer.outcome.value})
        return answer

    async def _post_intended(
        self, reply: OutboundReply, item: str | ReplyMedia, *, first: bool, intent: SendIntent
    ) -> str:
        """`_post` under a recorded intent: a post that certainly failed drops the intent again."""
        try:
            if isinstance(item, ReplyMedia):
                try:
                    call = await self._media.prepare(reply, item, first=first, key=intent.key)
                except ClawbusError:  # the bucket could not be read: nothing was posted
                    await self._ledger.forget(intent.key)
                    raise
                return await self._post(reply, call, intent=intent, media=True)
            client, text = self._client, item
            post = lambda: client.post(reply.target, text, first=first, key=intent.key)  # noqa: E731
            return await self._post(reply, post, intent=intent)
        except (Throttled, PermanentError):
            await self._ledger.forget(intent.key)
            raise

    async def _post(
        self,
        reply: OutboundReply,
        call: Callable[[], Awaitable[str]],
        *,
        intent: SendIntent,
        media: bool = False,
    ) -> str:
        scopes = self._profile.scopes(reply.target.thread_id or reply.target.chat_id)
        attempt = 0
        while True:
            attempt += 1
            await self._pacer.wait(scopes)
            try:
                return await call()
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
                if isinstance(exc, DeadlineExceeded) and (not media or self._media.reconciles):
                    # a timeout may hide a 200: ask before posting again
                    found = await self._found_after_timeout(reply, intent)
                    if found is not None:
                        return found
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

    async def _found_after_timeout(self, reply: OutboundReply, intent: SendIntent) -> str | None:
        """The message id when the platform has the chunk a timed-out post carried (None: post again).

        A check that may work later keeps the intent (it raises `DeadlineExceeded`, so the next delivery
        reconciles); one that cannot work (a missing scope) is the platform not being able to tell."""
        if not isinstance(self._client, Reconciles):
            return None
        try:
            answer = await self._client.reconcile(reply.target, intent, self._now())
        except RetryableError as exc:
            with contextlib.suppress(ClawbusError):  # else the next delivery waits the lease out
                await self._ledger.interrupted(intent, self._now())
            raise DeadlineExceeded(f"chunk {intent.key}: timed out, and the check failed: {exc}") from exc
        except PermanentError as exc:
            self._check_failed(intent, exc)
            return None
        if answer.outcome is not Outcome.SENT:
            return None
        log_event(logger, "egress.send.found_after_timeout", channel=self._profile.name, chunk=intent.key)
        return answer.message_id

    def _check_failed(self, intent: SendIntent, exc: PermanentError) -> None:
        self._warn("egress.send.reconcile_failed", exc, chunk=intent.key)

    async def _typing(self, reply: OutboundReply) -> None:
        try:
            await self._client.typing(reply.target)
        except ClawbusError as exc:
            self._warn("egress.typing.failed", exc, reply_id=reply.reply_id)

    def _warn(self, event: str, exc: Exception, **fields: str) -> None:
        reason = str(exc)[:300]
        error_type = type(exc).__name__
        log_event(
            logger,
            event,
            logging.WARNING,
            channel=self._profile.name,
            error_type=error_type,
            reason=reason,
            **fields,
        )
