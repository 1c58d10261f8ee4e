"""`/link` at ingress: answer the command, and send a linked sender's DMs to their person's session.

Why ingress and not the dispatcher: the session key, which is the inbound FIFO group and the session
the dispatcher and agent use, is decided here, so a linked account has to be re-keyed before the event
is enqueued; the gate's verdict (only `allowed` and `owner` senders may link) is here; and the answer
goes out like a pairing reply (the outbound topic), with no turn and no model call.

Per admitted DM (after dedup and the gate, so a redelivered `/link` is not run twice):

- `/link` / `/link <code>`: counted against the sender's rate window first (`MAX_ATTEMPTS`), then a
  code is issued (`ingress.link.issued`) or redeemed (`ingress.link.redeemed`: both accounts are stored
  as the issuer's canonical name); a refusal is `ingress.link.refused` with its reason. The event never
  reaches the agent. Codes and ids are never logged.
- anything else, when `session.dm_scope` is not `main`: a stored link re-keys the event
  (`core.linking.linked_session_key`, config links merged with the stored one).

WebChat posts skip the intake (their sender is the token's owner) but not this step
(`http/webchat.py` calls `handle` and `resolve` too); a WebChat sender is its conversation id. A retried
WebChat POST is not deduplicated here: its answer's reply id derives from the event id, so the outbound
FIFO drops the second answer.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Protocol

from clawbus.bus.clock import Clock
from clawbus.bus.logging import log_event
from clawbus.bus.settings import Settings
from clawbus.bus.tracing import inject_context
from clawbus.ingress.core.gate import normalise_entry
from clawbus.ingress.core.linking import (
    INVALID,
    NOT_ALLOWED,
    OWN_CODE,
    RATE_LIMITED,
    Ask,
    LinkCommand,
    issued_text,
    issuer_identity,
    linked_session_key,
    linked_text,
    parse_link,
)
from clawbus.schemas import (
    Access,
    DmScope,
    InboundEvent,
    OutboundReply,
    PeerKind,
    ReplyPart,
    attributes,
    message_group_id,
)
from clawbus.storage.identity_links import IdentityLinkStore, within_rate

logger = logging.getLogger(__name__)
_MAY_LINK = (Access.ALLOWED, Access.OWNER)


class ReplyTopic(Protocol):
    """The outbound topic (`bus.queues.Topic`)."""

    async def publish(
        self, body: str, *, group_id: str, dedup_id: str, attributes: dict[str, str]
    ) -> None: ...


class Linker:
    """Answers `/link` and re-keys linked senders' DMs (see the module docstring)."""

    def __init__(
        self, settings: Settings, store: IdentityLinkStore, replies: ReplyTopic, clock: Clock
    ) -> None:
        self._settings = settings
        self._store = store
        self._replies = replies
        self._clock = clock

    def _config_links(self) -> dict[str, list[str]]:
        return self._settings.session.identity_links

    async def handle(self, channel: str, event: InboundEvent) -> bool:
        """Answer `event` if it is a `/link` DM (then True: it must not be enqueued)."""
        direct = event.peer is None or event.peer.kind is PeerKind.DIRECT
        command = parse_link(event.text or "") if direct and event.sender is not None else None
        if command is None:
            return False
        await self._reply(channel, event, await self._answer(channel, event, command))
        return True

    async def _answer(self, channel: str, event: InboundEvent, command: LinkCommand) -> str:
        assert event.sender is not None
        sender = normalise_entry(channel, event.sender.id)
        now = self._clock()
        if event.access not in _MAY_LINK:
            return self._refused(channel, event, "not_allowed", NOT_ALLOWED)
        if not within_rate(await self._store.count_attempt(channel, sender, now)):
            return self._refused(channel, event, "rate_limited", RATE_LIMITED)
        if isinstance(command, Ask):
            stored = await self._store.canonical(channel, sender, now)
            canonical = issuer_identity(event, self._config_links(), stored)
            issued = await self._store.issue(channel, event.account_id, sender, canonical, now)
            log_event(logger, "ingress.link.issued", channel=channel, event_id=event.event_id)
            return issued_text(issued.code)
        found = await self._store.redeem(command.code, now) if command.code else None
        if found is None:
            return self._refused(channel, event, "invalid_code", INVALID)
        if (found.channel, found.sender) == (channel, sender):
            return self._refused(channel, event, "own_code", OWN_CODE)
        await self._store.link(found.channel, found.sender, found.canonical, now)
        await self._store.link(channel, sender, found.canonical, now)
        log_event(
            logger, "ingress.link.redeemed", channel=channel, event_id=event.event_id, issuer=found.channel
        )
        return linked_text(found.channel)

    def _refused(self, channel: str, event: InboundEvent, reason: str, text: str) -> str:
        log_event(logger, "ingress.link.refused", channel=channel, event_id=event.event_id, reason=reason)
        return text

    async def resolve(self, channel: str, event: InboundEvent) -> InboundEvent:
        """`event` with its session key re-derived when its sender is linked (DMs, dm_scope not main)."""
        scope = self._settings.session.dm_scope
        direct = event.peer is None or event.peer.kind is PeerKind.DIRECT
        if scope is DmScope.MAIN or event.sender is None or not direct:
            return event
        sender = normalise_entry(channel, event.sender.id)
        canonical = await self._store.canonical(channel, sender, self._clock())
        if canonical is None:
            return event
        key = linked_session_key(event, scope, self._config_links(), event.sender.id, canonical)
        return event if key is None else event.model_copy(update={"session_key": key})

    async def _reply(self, channel: str, event: InboundEvent, text: str) -> None:
        if event.reply_to is None:
            return
        reply = OutboundReply(
            reply_id="link-" + hashlib.sha256(event.event_id.encode()).hexdigest()[:40],
            in_reply_to=(event.event_id,),
            session_key=event.session_key,
            channel=channel,
            account_id=event.account_id,
            target=event.reply_to,
            parts=(ReplyPart(index=0, text=text),),
            created_at=self._clock(),
        )
        await self._replies.publish(
            reply.to_wire(),
            group_id=message_group_id(reply.session_key),
            dedup_id=reply.reply_id,
            attributes={attributes.CHANNEL: channel, attributes.KIND: reply.kind.value, **inject_context()},
        )
