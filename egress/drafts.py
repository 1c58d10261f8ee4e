"""Progress drafts on a platform that edits messages: one message per turn, edited into the answer.

A `DraftSender` sits in front of the channel's `ChunkedSender` when its client `Edits` (Telegram, Slack):

- a `progress` reply posts the turn's draft (the first) or edits it (later ones), as
  `core/draft_plan.plan_progress` says, and one without text (the turn ended silent) deletes it; best
  effort, like typing: a failure or a rate limit drops that update (the pacer still honours the
  platform's `retry_after` for what follows), never the reply;
- an answer that names its turn's `draft` edits its first chunk into the draft
  (`core/draft_plan.plan_first_chunk`) and records the draft's message id as that chunk's receipt, so a
  redelivery skips it; further chunks (and every other reply) go through the `ChunkedSender` as before;
- a finalising edit the platform refuses falls back to posting the chunk as a new message, once; a rate
  limit on it is waited out inline when short, else the reply goes back to the queue (the edit is
  idempotent, so retrying it is safe).

Edits share the pacer (`egress/core/rate_plan.py`) and the chat's rate windows with sends. The draft's
message id lives in the ledger (`egress/draft_ledger.py`), so a restarted worker edits the same draft.
"""

from __future__ import annotations

import logging

from clawbus.bus.clock import Clock, utc_now
from clawbus.bus.errors import ClawbusError, PermanentError, RetryableError, Throttled
from clawbus.bus.logging import log_event, session_ref
from clawbus.channels.chunk_keys import draft_key, sent_key
from clawbus.channels.contracts import PlatformClient, Profile
from clawbus.channels.edits import Edits
from clawbus.egress.chunked_sender import ChunkedSender
from clawbus.egress.core import messages
from clawbus.egress.core.draft_plan import (
    DeleteDraft,
    EditDraft,
    EditInto,
    FallBack,
    LeaveDraft,
    OpenDraft,
    after_failed_edit,
    edit_scopes,
    plan_first_chunk,
    plan_progress,
)
from clawbus.egress.core.send_once import SendReceipt
from clawbus.egress.draft_ledger import DraftLedger
from clawbus.egress.pacer import Pacer
from clawbus.egress.sent_ledger import SentLedger
from clawbus.schemas import OutboundReply, ReplyKind

logger = logging.getLogger(__name__)
_EDIT_TRIES = 3
_DEFAULT_THROTTLE_S = 1.0


class DraftSender:
    """A `ReplySender`: progress drafts and their finalising edit, the rest through `chunked`."""

    def __init__(
        self,
        chunked: ChunkedSender,
        profile: Profile,
        client: PlatformClient,
        sent: SentLedger,
        drafts: DraftLedger,
        pacer: Pacer,
        *,
        max_inline_wait_s: float = 5.0,
        clock: Clock = utc_now,
    ) -> None:
        self._chunked = chunked
        self._profile = profile
        self._client = client
        self._sent = sent
        self._drafts = drafts
        self._pacer = pacer
        self._max_inline_wait_s = max_inline_wait_s
        self._now = clock

    async def send(self, reply: OutboundReply) -> None:
        """Deliver `reply` (see the module docstring); raises what the `ChunkedSender` raises."""
        if reply.kind is ReplyKind.PROGRESS:
            await self._progress(reply)
        elif reply.kind is ReplyKind.MESSAGE and reply.draft:
            await self._answer(reply, reply.draft)
        else:
            await self._chunked.send(reply)

    async def _answer(self, reply: OutboundReply, turn: str) -> None:
        first = True
        for part in sorted(reply.parts, key=lambda p: p.index):
            for chunk, text in enumerate(messages(part.text, self._profile)):
                key = sent_key(self._profile.name, reply.reply_id, part.index, chunk)
                if not (first and await self._finalise(reply, turn, text, key)):
                    await self._chunked.send_chunk(reply, text, first=first, key=key)
                first = False
        await self._chunked.send_media(reply, first=first)  # the answer's files follow its text

    async def _finalise(self, reply: OutboundReply, turn: str, text: str, key: str) -> bool:
        """Edit the answer's first chunk into the draft; False: send it as usual instead."""
        now = self._now()
        dkey = draft_key(self._profile.name, turn)
        chunk, draft = await self._sent.find(key, now), await self._drafts.find(dkey, now)
        action = plan_first_chunk(chunk, draft, can_edit=isinstance(self._client, Edits))
        if not isinstance(action, EditInto):
            return False
        try:
            await self._edit(reply, action.message_id, text, inline=True)
        except ClawbusError as exc:
            if not isinstance(after_failed_edit(exc), FallBack):
                raise
            log_event(
                logger,
                "egress.draft.fallback",
                logging.WARNING,
                channel=self._profile.name,
                reply_id=reply.reply_id,
                error_type=type(exc).__name__,
                reason=str(exc)[:300],
            )
            return False
        await self._sent.receipt(SendReceipt(key, action.message_id), self._now())
        await self._drafts.finalised(dkey, action.message_id, self._now())
        log_event(
            logger,
            "egress.draft.finalised",
            channel=self._profile.name,
            reply_id=reply.reply_id,
            session=session_ref(reply.session_key),
            message_id=action.message_id,
        )
        return True

    async def _progress(self, reply: OutboundReply) -> None:
        """Show the progress text in the turn's draft: best effort, never raises a `ClawbusError` —
        except a clearing message's retryable failure: nothing after it would take "working…" away, so
        the delete is retried (and dead-lettered with its reason) like an answer."""
        rendered = messages(reply.text, self._profile) if reply.text.strip() else []
        dkey = draft_key(self._profile.name, reply.draft or reply.reply_id)
        try:
            now = self._now()
            draft = await self._drafts.find(dkey, now)
            can_edit = isinstance(self._client, Edits)
            match plan_progress(draft, can_edit=can_edit, clear=not rendered):
                case LeaveDraft(reason=reason):
                    log_event(logger, "egress.draft.left", channel=self._profile.name, reason=reason)
                case OpenDraft():
                    await self._open(reply, dkey, rendered[0])
                case EditDraft(message_id=message_id):
                    await self._edit(reply, message_id, rendered[0], inline=False)
                    log_event(logger, "egress.draft.edited", channel=self._profile.name, draft=dkey)
                case DeleteDraft(message_id=message_id):
                    await self._delete(reply, dkey, message_id)
        except ClawbusError as exc:
            if isinstance(exc, RetryableError) and not rendered:
                raise  # a clear that failed for now: its message comes back
            log_event(
                logger,
                "egress.draft.dropped",
                logging.WARNING,
                channel=self._profile.name,
                draft=dkey,
                error_type=type(exc).__name__,
                reason=str(exc)[:300],
            )

    async def _open(self, reply: OutboundReply, dkey: str, text: str) -> None:
        if not await self._drafts.claim(dkey, self._now()):
            return
        scopes = self._profile.scopes(reply.target.thread_id or reply.target.chat_id)
        await self._pacer.wait(scopes)
        try:
            message_id = await self._client.post(reply.target, text, first=True, key=dkey)
        except ClawbusError as exc:
            if isinstance(exc, Throttled):
                self._pacer.hold(scopes, exc.retry_after or _DEFAULT_THROTTLE_S)
            await self._drafts.release(dkey)
            raise
        await self._drafts.opened(dkey, message_id, self._now())
        log_event(
            logger,
            "egress.draft.opened",
            channel=self._profile.name,
            draft=dkey,
            session=session_ref(reply.session_key),
            message_id=message_id,
        )

    async def _delete(self, reply: OutboundReply, dkey: str, message_id: str) -> None:
        """Delete the draft of a turn that ended silent, and mark it final (nothing edits it again)."""
        client = self._client
        if not isinstance(client, Edits):  # callers plan a delete only for a client that `Edits`
            raise PermanentError(f"{self._profile.name}: the platform client cannot delete messages")
        scopes = edit_scopes(self._profile, reply.target.thread_id or reply.target.chat_id)
        await self._pacer.wait(scopes)
        try:
            await client.delete(reply.target, message_id)
        except Throttled as exc:
            self._pacer.hold(scopes, exc.retry_after or _DEFAULT_THROTTLE_S)
            raise
        await self._drafts.finalised(dkey, message_id, self._now())
        log_event(logger, "egress.draft.deleted", channel=self._profile.name, draft=dkey)

    async def _edit(self, reply: OutboundReply, message_id: str, text: str, *, inline: bool) -> None:
        """Edit under the pacer; a rate limit holds the chat's window for its `retry_after` and, when
        `inline` and short, is waited out and the edit tried again."""
        client = self._client
        if not isinstance(client, Edits):  # callers plan an edit only for a client that `Edits`
            raise PermanentError(f"{self._profile.name}: the platform client cannot edit messages")
        scopes = edit_scopes(self._profile, reply.target.thread_id or reply.target.chat_id)
        for attempt in range(1, _EDIT_TRIES + 1):
            await self._pacer.wait(scopes)
            try:
                await client.edit(reply.target, message_id, text)
            except Throttled as exc:
                wait = exc.retry_after if exc.retry_after is not None else _DEFAULT_THROTTLE_S
                self._pacer.hold(scopes, wait)
                log_event(
                    logger,
                    "egress.draft.throttled",
                    logging.WARNING,
                    channel=self._profile.name,
                    reply_id=reply.reply_id,
                    retry_after_s=wait,
                    attempt=attempt,
                )
                if not inline or wait > self._max_inline_wait_s or attempt == _EDIT_TRIES:
                    raise
            else:
                return
