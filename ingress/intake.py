"""From normalised turns to the inbound queue: dedup, gate, enqueue (or answer with a pairing code).

Every transport (webhook route, Lambda, relay connection) hands its `Parsed` turns here, so the
exactly-once and gating rules live in one place. Per turn: decide with the channel's policy, then
enqueue the event stamped with why it was admitted (`access`) and whether it addressed the bot
(`addressed`: a DM, or a mention the gate saw), publish the pairing reply, or log the
refusal.

Where a platform's retry is dropped: an ordinary message is enqueued under its event id as SQS
deduplication id, so a retry within SQS's 5 minutes is dropped by the queue, and a later one (Slack
retries for hours, WhatsApp for days) is answered by the dispatcher from its turn ledger
(`turn:<event id>`, read for every turn anyway, kept at least 7 days): the stored reply, which SNS and
egress's sent ledger drop as already sent, never a second run. That keeps the acknowledgement to two
AWS calls (the pairing read and the enqueue). A slash command (`/stop`, `/link`, a reset trigger, any
`/…`) can act outside a turn — on the control lane or here at ingress — so it still claims the event in
the dedup store first (a duplicate is acknowledged and dropped; a claim another request left pending,
perhaps dying, is enqueued again under the same deduplication id rather than waited for:
`ingress/dedup_store.py`) and marks the claim done after. A pairing request needs no claim: asking
again gives the same code and sends no second reply.

The stamp is the gate's verdict, whatever the normaliser or transport put there, except a preset
`owner`: a transport that authenticated the run's owner itself (WebChat holding the run's token) keeps
it. Platform normalisers never set `access`, so nothing a platform sends can claim it.

If enqueueing fails our claim is released and a `RetryableError` propagates, so the transport answers
5xx and the platform retries.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Protocol

from clawbus.bus.clock import Clock, utc_now
from clawbus.bus.logging import log_event, session_ref
from clawbus.bus.settings import ChannelSettings, Settings
from clawbus.bus.tracing import inject_context
from clawbus.channels.registry import spec
from clawbus.ingress.core import Context, Parsed, Policy, Turn, Verdict, decide, pairing_text
from clawbus.ingress.dedup_store import Claim, DedupStore
from clawbus.ingress.linking import Linker
from clawbus.ingress.pairing_store import PairingStore
from clawbus.ingress.publisher import InboundPublisher
from clawbus.ingress.thread_binding import ThreadBinder
from clawbus.schemas import (
    Access,
    InboundEvent,
    OutboundReply,
    PeerKind,
    ReplyPart,
    attributes,
    message_group_id,
)
from clawbus.schemas.control import command_word
from clawbus.storage.identity_links import IdentityLinkStore
from clawbus.storage.thread_bindings import ThreadBindingStore

logger = logging.getLogger(__name__)


class ReplyTopic(Protocol):
    """The outbound topic (`bus.queues.Topic`): pairing replies go out through egress like any reply."""

    async def publish(
        self, body: str, *, group_id: str, dedup_id: str, attributes: dict[str, str]
    ) -> None: ...


def policy_for(channel: str, settings: ChannelSettings) -> Policy:
    """A channel's gating policy from its settings."""
    return Policy.build(
        channel,
        dm_policy=settings.dm_policy,
        allow_from=settings.allow_from,
        group_policy=settings.group_policy,
        group_allow_from=settings.group_allow_from,
        require_mention=settings.require_mention,
    )


def needs_claim(event: InboundEvent) -> bool:
    """Whether `event` is claimed in the dedup store before it is handled: a slash command, which may act
    outside a turn (the control lane, `/link`), where the turn ledger cannot drop a late retry. Pure."""
    return command_word(event.text) is not None


class Intake:
    """Dedup, gate and enqueue the turns of any channel."""

    def __init__(
        self,
        settings: Settings,
        *,
        publisher: InboundPublisher,
        replies: ReplyTopic,
        dedup: DedupStore,
        pairing: PairingStore,
        clock: Clock = utc_now,
        links: IdentityLinkStore | None = None,
        threads: ThreadBindingStore | None = None,
    ) -> None:
        self._settings = settings
        self._publisher = publisher
        self._replies = replies
        self._dedup = dedup
        self._pairing = pairing
        self.clock = clock
        # `/link` and linked senders' session keys (ingress/linking.py); None: no identity links.
        self.linker = None if links is None else Linker(settings, links, replies, lambda: self.clock())
        # Bound threads go to their sessions (ingress/thread_binding.py); None: no thread bindings.
        policy = settings.session.thread_bindings
        self.threads = None if threads is None else ThreadBinder(threads, policy, lambda: self.clock())

    def context(self) -> Context:
        """The normalisers' context at this moment."""
        session = self._settings.session
        return Context(
            agent_id=session.agent_id,
            dm_scope=session.dm_scope,
            now=self.clock(),
            dedup_ttl_s=self._settings.ingress.dedup_ttl_s,
            routing=self._settings.routing.table(session.agent_id, session.dm_scope),
        )

    async def accept(self, channel: str, parsed: Parsed) -> None:
        """Handle every turn of one payload; raises `RetryableError` when one could not be enqueued."""
        for ignored in parsed.ignored:
            log_event(
                logger,
                "ingress.event.ignored",
                channel=channel,
                event_id=ignored.event_id,
                reason=ignored.reason,
            )
        for turn in parsed.turns:
            await self._one(channel, turn)

    async def _one(self, channel: str, turn: Turn) -> None:
        event = turn.event
        if not needs_claim(event):  # SQS's dedup id, then the dispatcher's turn ledger (module doc)
            await self._gate_and_send(channel, turn)
            return
        key = f"in:{event.event_id}"
        claim = await self._dedup.claim(key, self.clock())
        if claim is Claim.DONE:
            log_event(logger, "ingress.event.duplicate", channel=channel, event_id=event.event_id)
            return
        if claim is Claim.PENDING:
            log_event(logger, "ingress.event.pending_claim_found", channel=channel, event_id=event.event_id)
        try:
            await self._gate_and_send(channel, turn)
        except BaseException:
            if claim is Claim.CLAIMED:  # a pending claim is another request's to release
                await self._dedup.release(key)
            raise
        await self._dedup.complete(key, self.clock())

    async def _gate_and_send(self, channel: str, turn: Turn) -> None:
        event = turn.event
        channel_settings: ChannelSettings = spec(channel).settings(self._settings)
        policy = policy_for(channel, channel_settings)
        direct = event.peer is None or event.peer.kind is PeerKind.DIRECT
        # Under `open` too: a paired sender is trusted (`allowed`) whatever the policy admits.
        needs_store = direct and policy.dm_policy != "disabled"
        paired = await self._pairing.paired(channel, event.account_id) if needs_store else frozenset()
        decision = decide(turn, policy, paired)
        if decision.verdict is Verdict.ADMIT:
            stamp: dict[str, object] = {"addressed": direct or turn.mentioned}  # where a failure is said
            if event.access is not Access.OWNER:
                stamp["access"] = decision.access
            event = event.model_copy(update=stamp)
            if self.linker is not None:
                if await self.linker.handle(channel, event):
                    return
                event = await self.linker.resolve(channel, event)
            if self.threads is not None:
                event = await self.threads.resolve(event)
            await self._publisher.publish(event)
            log_event(
                logger,
                "ingress.event.accepted",
                channel=channel,
                event_id=event.event_id,
                session=session_ref(event.session_key),
                access=event.access.value if event.access else None,
            )
        elif decision.verdict is Verdict.PAIR:
            await self._pair(channel, event, channel_settings.pairing_message)
        else:
            log_event(
                logger,
                "ingress.event.refused",
                channel=channel,
                event_id=event.event_id,
                reason=decision.reason,
            )

    async def _pair(self, channel: str, event: InboundEvent, template: str | None) -> None:
        assert event.sender is not None  # a DM always has a sender
        result = await self._pairing.request(channel, event.account_id, event.sender.id, self.clock())
        log_event(
            logger,
            "ingress.pairing.requested",
            channel=channel,
            event_id=event.event_id,
            new_request=result.created,
            capped=result.request is None,
        )
        if not result.created or result.request is None or event.reply_to is None:
            return
        reply_id = "pair-" + hashlib.sha256(event.event_id.encode()).hexdigest()[:40]
        reply = OutboundReply(
            reply_id=reply_id,
            in_reply_to=(event.event_id,),
            session_key=event.session_key,
            channel=channel,
            account_id=event.account_id,
            target=event.reply_to,
            parts=(
                ReplyPart(
                    index=0, text=pairing_text(channel, event.sender.id, result.request.code, template)
                ),
            ),
            created_at=self.clock(),
        )
        await self._replies.publish(
            reply.to_wire(),
            group_id=message_group_id(reply.session_key),
            dedup_id=reply.reply_id,
            attributes={attributes.CHANNEL: channel, attributes.KIND: reply.kind.value, **inject_context()},
        )
