"""Telegram webhook updates, verified and normalised. Pure.

Telegram sends the `secret_token` given to `setWebhook` back in `X-Telegram-Bot-Api-Secret-Token`; it
is compared in constant time. Updates are parsed with python-telegram-bot's `Update`. A new `message`
in a private chat, group or supergroup (forum topics included) is a turn; edits, channel posts, our
own or other bots' messages, messages without text or files and every other update kind are ignored
with a reason. A caption and its photo, document or voice note are one turn (`media.py` lists the files).
The event id is `telegram:<bot id>:<update_id>`: update ids are unique per bot.
"""

from __future__ import annotations

import hmac
from typing import Any

from telegram import Message, MessageEntity, Update

from clawbus.bus.errors import InvalidEnvelope, Unauthorized
from clawbus.channels.normalised import Context, Ignored, Parsed, Turn, build_event, shape_checked
from clawbus.channels.telegram.media import attachments
from clawbus.schemas import Peer, PeerKind, ReplyTarget, Sender
from clawbus.schemas.routing import RouteInput, RoutePeer

CHANNEL = "telegram"
SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105  # a header name, not a secret
_GROUP_TYPES = {"group", "supergroup"}


def bot_id_from_token(token: str) -> str:
    """The bot's user id: the part of its token before the colon."""
    return token.split(":", 1)[0]


def signed_headers(secret: str) -> dict[str, str]:
    """Headers of a Telegram webhook call for a bot whose `setWebhook` secret_token is `secret` (load
    generators, benchmarks and tests)."""
    return {"content-type": "application/json", SECRET_HEADER: secret}


def verify(header: str | None, secret: str | None) -> None:
    """Raise `Unauthorized` unless `header` equals the configured webhook secret."""
    if not secret:
        raise Unauthorized("no Telegram webhook secret configured; set CLAWBUS_TELEGRAM__WEBHOOK_SECRET")
    if header is None or not hmac.compare_digest(header.encode(), secret.encode()):
        raise Unauthorized("bad or missing X-Telegram-Bot-Api-Secret-Token")


def _update(data: dict[str, Any]) -> Update:
    if not isinstance(data.get("update_id"), int) or isinstance(data.get("update_id"), bool):
        raise InvalidEnvelope("Telegram update without an integer update_id")
    try:
        return Update.de_json(data, None)
    # OSError: a `date` past what the C library's time functions take (EOVERFLOW), like OverflowError
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, OSError) as exc:
        raise InvalidEnvelope(f"not a Telegram update: {type(exc).__name__}") from exc


def _mentioned(message: Message, bot_id: str, bot_username: str | None) -> bool:
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and str(replied.from_user.id) == bot_id:
        return True
    try:
        entities = message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
        entities.update(message.parse_caption_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION]))
    except (IndexError, ValueError, TypeError):
        return False
    wanted = f"@{bot_username}".lower() if bot_username else None
    for entity, text in entities.items():
        if entity.type == MessageEntity.TEXT_MENTION and entity.user and str(entity.user.id) == bot_id:
            return True
        if wanted and text.lower() == wanted:
            return True
    return False


def _route_input(message: Message, kind: PeerKind, chat_id: str, user_id: str, account_id: str) -> RouteInput:
    """What routing reads, as OpenClaw's Telegram plugin builds it: a forum topic is the peer
    `<chat>:topic:<id>` (the General topic, without a thread id, is 1) under its group as parent peer; a
    DM thread (a bot with topics on) is the thread `<chat>:<thread>` of the sender's DM session."""
    thread = message.message_thread_id
    in_topic = bool(message.is_topic_message and thread)
    if kind is PeerKind.GROUP:
        topic = str(thread) if in_topic else ("1" if message.chat.is_forum else None)
        if topic is None:
            return RouteInput(CHANNEL, RoutePeer(kind, chat_id), account_id=account_id)
        return RouteInput(
            CHANNEL,
            RoutePeer(kind, f"{chat_id}:topic:{topic}"),
            account_id=account_id,
            parent_peer=RoutePeer(kind, chat_id),
        )
    return RouteInput(
        CHANNEL,
        RoutePeer(kind, user_id),
        account_id=account_id,
        thread_id=f"{chat_id}:{thread}" if in_topic else None,
    )


@shape_checked
def normalise(data: dict[str, Any], *, bot_id: str, bot_username: str | None, ctx: Context) -> Parsed:
    """The turn in a Telegram update, or why it was ignored; `InvalidEnvelope` when it is not an update."""
    update = _update(data)
    event_id = f"{CHANNEL}:{bot_id}:{update.update_id}"
    if update.edited_message is not None or update.edited_channel_post is not None:
        return Parsed(ignored=(Ignored("edit", event_id),))
    message = update.message
    if message is None:
        return Parsed(ignored=(Ignored("unsupported_update", event_id),))
    user = message.from_user
    if user is not None and str(user.id) == bot_id:
        return Parsed(ignored=(Ignored("own_message", event_id),))
    if user is None or user.is_bot:
        return Parsed(ignored=(Ignored("bot_message", event_id),))
    text = message.text or message.caption or ""
    files = attachments(message)
    if not text and not files:
        return Parsed(ignored=(Ignored("no_text", event_id),))
    chat_type = message.chat.type
    if chat_type == "private":
        kind = PeerKind.DIRECT
    elif chat_type in _GROUP_TYPES:
        kind = PeerKind.GROUP
    else:
        return Parsed(ignored=(Ignored("unsupported_chat", event_id),))
    chat_id = str(message.chat.id)
    thread = message.message_thread_id
    in_topic = bool(message.is_topic_message and thread)
    route = ctx.route(_route_input(message, kind, chat_id, str(user.id), ctx.account_id))
    event = build_event(
        event_id=event_id,
        channel=CHANNEL,
        account_id=ctx.account_id,
        agent_id=route.agent_id,
        session_key=route.session_key,
        parent_session_key=route.parent_session_key,
        peer=Peer(kind=kind, id=chat_id),
        sender=Sender(id=str(user.id), name=user.full_name or None),
        text=text,
        attachments=files,
        reply_to=ReplyTarget(
            chat_id=chat_id,
            thread_id=str(thread) if in_topic else None,
            reply_to_message_id=str(message.message_id),
        ),
        received_at=ctx.now,
    )
    mentioned = kind is PeerKind.DIRECT or _mentioned(message, bot_id, bot_username)
    return Parsed(turns=(Turn(event, mentioned),))
