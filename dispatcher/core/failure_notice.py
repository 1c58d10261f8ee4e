"""What a turn the dispatcher gave up tells its user. Pure: no AWS, no clock.

OpenClaw (`docs/concepts/messages.md`, "Channel run ownership"): once a turn is durably accepted, an
unexpected failure before its answer produces a compact error reply in direct chats and explicitly
addressed conversations; progress acknowledgments do not replace that final outcome. Here a turn is
given up when its messages go to the dead-letter queue: a permanent error (the agent refused the turn,
or answered with a terminal error), or the last of `DLQ_MAX_RECEIVE_COUNT` receives failed.

`failure_notice` says what the user then sees, or None (`unplanned_notices`: the same for messages
given up before their turn was planned):

- only where the turn's answer would have gone (its `target`), and only for a person's message (a
  scheduled turn has nobody waiting: its failure is in the cron history and the DLQ);
- only in a DM or in a group conversation that addressed the bot (`InboundEvent.addressed`: a mention,
  a reply to the bot, a slash command); an older producer's group message, without the stamp, gets none;
- one short line with a reason class (`reason_class`), never the error's text (no stack, no ids, no
  secrets);
- under the turn's reply id with `-failed` (its SNS deduplication id and egress's sent-ledger key), so a
  failure redelivered or replayed does not show twice, and the answer a replay after the fix produces
  (under the turn's own reply id) is still sent, once;
- naming the turn's progress draft (`draft`) on a channel that shows drafts, so egress edits the draft
  into the notice and never leaves it at "working…" (with no draft, egress posts it as usual); where no
  notice is sent, `draft_clearing` deletes the draft instead.

`error_policy` is OpenClaw's `channels.<channel>.errorPolicy`: `always`, `silent` (never), or `once`:
the same reason once per conversation every `ONCE_COOLDOWN_S` (OpenClaw's Telegram cooldown, 4 hours),
counted by `cooldown_key`.
"""

from __future__ import annotations

from collections.abc import Sequence

from clawbus.bus.errors import (
    AgentRejected,
    ClawbusError,
    DeadlineExceeded,
    InvalidEnvelope,
    TargetGone,
    Throttled,
    Unauthorized,
    Unavailable,
)
from clawbus.dispatcher.core.turns import Route, destination, is_scheduled
from clawbus.schemas import InboundEvent, OutboundReply, PeerKind, ReplyKind, ReplyPart, reply_id

ONCE_COOLDOWN_S = 4 * 3600  # OpenClaw's DEFAULT_ERROR_COOLDOWN_MS (extensions/telegram/src/error-policy.ts)
FAILED_SUFFIX = "-failed"

# First match wins: the most specific classes first.
_REASONS: tuple[tuple[type[ClawbusError], str], ...] = (
    (DeadlineExceeded, "the agent timed out"),
    (Throttled, "the agent is busy right now"),
    (AgentRejected, "the agent could not handle this message"),
    (InvalidEnvelope, "the message could not be read"),
    (Unavailable, "the agent is unreachable"),
    (TargetGone, "the agent is unreachable"),
    (Unauthorized, "the agent is unreachable"),
)
_UNKNOWN = "something went wrong"


def reason_class(error: BaseException) -> str:
    """The short reason a user reads for `error` (its class, never its text)."""
    return next((reason for kind, reason in _REASONS if isinstance(error, kind)), _UNKNOWN)


def notice_text(reason: str) -> str:
    """The compact error reply."""
    return f"⚠️ Sorry, I could not answer that: {reason}. Please try again later."


def addressed(event: InboundEvent) -> bool:
    """Whether `event` addressed the bot: any DM, a group message only when ingress stamped it so."""
    if event.peer is None or event.peer.kind is PeerKind.DIRECT:
        return True
    return event.addressed is True


def failure_notice(
    events: Sequence[InboundEvent],
    reply_id: str,
    target: Route | None,
    error: BaseException,
    *,
    draft: bool,
) -> OutboundReply | None:
    """The error reply for a turn (its `events`, under `reply_id`) given up with `error`, or None when the
    user is not told (module docstring); `draft` names the turn's progress draft for egress to edit."""
    if not events or target is None:
        return None
    last = events[-1]
    if is_scheduled(last) or not addressed(last):
        return None
    text = notice_text(reason_class(error))
    return _reply(events, reply_id, target, ReplyKind.MESSAGE, text, reply_id if draft else None)


def unplanned_notices(events: Sequence[InboundEvent], error: BaseException) -> list[OutboundReply]:
    """The error replies for messages given up before their turn was planned (the ledger unreachable on
    every receive, say): no turn, no draft, so each conversation the messages came from gets one notice,
    under the reply id a turn of exactly its messages would have had, so a redelivery sends it once."""
    Chat = tuple[str, str, str, str | None]
    groups: dict[Chat, list[InboundEvent]] = {}
    latest: dict[Chat, Route] = {}  # the notice answers the chat's latest message
    for event in events:
        route = destination(event, None)
        if route is None or is_scheduled(event):
            continue
        chat = (route.channel, route.account_id, route.target.chat_id, route.target.thread_id)
        groups.setdefault(chat, []).append(event)
        latest[chat] = route
    notices = (
        failure_notice(group, reply_id(e.event_id for e in group), latest[chat], error, draft=False)
        for chat, group in groups.items()
    )
    return [notice for notice in notices if notice is not None]


def draft_clearing(events: Sequence[InboundEvent], reply_id: str, target: Route) -> OutboundReply:
    """The progress message without text that deletes the turn's draft when no notice replaces it (the
    conversation did not address the bot, or its policy keeps errors out): never "working…" forever."""
    return _reply(events, reply_id, target, ReplyKind.PROGRESS, "", reply_id)


def _reply(
    events: Sequence[InboundEvent],
    reply_id: str,
    target: Route,
    kind: ReplyKind,
    text: str,
    draft: str | None,
) -> OutboundReply:
    """What the turn's failure publishes (`<reply_id>-failed`), where its answer would have gone."""
    last = events[-1]
    return OutboundReply(
        reply_id=f"{reply_id}{FAILED_SUFFIX}",
        in_reply_to=tuple(e.event_id for e in events),
        kind=kind,
        session_key=last.session_key,
        channel=target.channel,
        account_id=target.account_id,
        target=target.target,
        parts=(ReplyPart(index=0, text=text),),
        final=kind is ReplyKind.MESSAGE,
        created_at=last.received_at,
        draft=draft,
    )


def cooldown_key(notice: OutboundReply, error: BaseException) -> str:
    """The `once` policy's record: one per channel, account, conversation (and thread) and reason."""
    where = ":".join(
        (notice.channel, notice.account_id, notice.target.chat_id, notice.target.thread_id or "")
    )
    return f"errnotice:{where}:{reason_class(error)}"
