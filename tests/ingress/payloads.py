"""Realistic platform payloads (shapes as the platforms document them), built per test with fresh ids."""

from __future__ import annotations

import itertools
import time
from typing import Any

_ids = itertools.count(1000)

BOT_ID = "7000001"
BOT_USERNAME = "clawbus_bot"
BOT_TOKEN = f"{BOT_ID}:AAE-test-token"
SLACK_BOT_USER = "UBOT0001"
WHATSAPP_NUMBER = "15550001111"


def next_id() -> int:
    """A fresh number for update ids, message ids, timestamps."""
    return next(_ids)


def telegram_message(
    *,
    chat_id: int = 42,
    user_id: int = 42,
    text: str = "hello",
    chat_type: str = "private",
    topic: int | None = None,
    mention: bool = False,
    reply_to_bot: bool = False,
    from_bot: bool = False,
    update_id: int | None = None,
    edited: bool = False,
) -> dict[str, Any]:
    """A Telegram `Update` carrying a message (or an edit)."""
    chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
    if chat_type == "private":
        chat |= {"first_name": "Ann"}
    else:
        chat |= {"title": "Crew"}
    sender = (
        {"id": int(BOT_ID), "is_bot": True, "first_name": "Claw", "username": BOT_USERNAME}
        if from_bot
        else {"id": user_id, "is_bot": False, "first_name": "Ann", "language_code": "en"}
    )
    if mention:
        text = f"@{BOT_USERNAME} {text}"
    message: dict[str, Any] = {
        "message_id": next_id(),
        "from": sender,
        "chat": chat,
        "date": 1_760_000_000,
        "text": text,
    }
    if mention:
        message["entities"] = [{"type": "mention", "offset": 0, "length": len(BOT_USERNAME) + 1}]
    if topic is not None:
        message |= {"message_thread_id": topic, "is_topic_message": True}
        chat["is_forum"] = True
    if reply_to_bot:
        message["reply_to_message"] = {
            "message_id": 1,
            "from": {"id": int(BOT_ID), "is_bot": True, "first_name": "Claw"},
            "chat": chat,
            "date": 1_759_999_000,
            "text": "earlier answer",
        }
    if edited:
        message["edit_date"] = 1_760_000_100
    key = "edited_message" if edited else "message"
    return {"update_id": update_id if update_id is not None else next_id(), key: message}


def slack_event(
    *,
    text: str = "hello",
    user: str = "U0ANN",
    channel: str = "D0DM",
    channel_type: str = "im",
    thread_ts: str | None = None,
    event_type: str = "message",
    subtype: str | None = None,
    bot_id: str | None = None,
    ts: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """A Slack Events API `event_callback` envelope."""
    ts = ts or f"1760000000.{next_id():06d}"
    event: dict[str, Any] = {
        "type": event_type,
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "channel_type": channel_type,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    if subtype:
        event["subtype"] = subtype
    if bot_id:
        event["bot_id"] = bot_id
    return {
        "token": "legacy-verification-token",
        "team_id": "T0TEAM",
        "api_app_id": "A0APP",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next_id()}",
        "event_time": 1_760_000_000,
        "authorizations": [
            {"enterprise_id": None, "team_id": "T0TEAM", "user_id": SLACK_BOT_USER, "is_bot": True}
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-eyJldCI6Im1lc3NhZ2UifQ",
    }


def whatsapp_message(
    *,
    wamid: str | None = None,
    sender: str = "4915112345678",
    text: str = "hello",
    kind: str = "text",
    statuses: bool = False,
    group_id: str | None = None,
    sent_at: int | None = None,
) -> dict[str, Any]:
    """A WhatsApp Cloud API webhook POST body with one message (and optionally a status receipt), sent
    at `sent_at` (Unix seconds; now by default)."""
    wamid = wamid or f"wamid.HBgN{next_id()}"
    message: dict[str, Any] = {
        "from": sender,
        "from_user_id": f"DE.{sender}",
        "id": wamid,
        "timestamp": str(int(time.time()) if sent_at is None else sent_at),
        "type": kind,
    }
    if kind == "text":
        message["text"] = {"body": text}
    elif kind == "reaction":
        message["reaction"] = {"message_id": "wamid.other", "emoji": "👍"}
    if group_id:
        message["group_id"] = group_id
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": WHATSAPP_NUMBER, "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Ann"}, "wa_id": sender, "user_id": f"DE.{sender}"}],
        "messages": [message],
    }
    if statuses:
        value["statuses"] = [
            {
                "id": "wamid.sent-by-us",
                "status": "delivered",
                "timestamp": "1760000001",
                "recipient_id": sender,
            }
        ]
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }


def whatsapp_status() -> dict[str, Any]:
    """A webhook POST carrying only a delivery receipt for one of our replies."""
    body = whatsapp_message()
    value = body["entry"][0]["changes"][0]["value"]
    del value["messages"], value["contacts"]
    value["statuses"] = [
        {
            "id": "wamid.sent-by-us",
            "status": "read",
            "timestamp": "1760000002",
            "recipient_id": "4915112345678",
        }
    ]
    return body


def discord_command(
    *,
    text: str = "hello",
    user_id: str = "80351110224678912",
    guild: bool = False,
    thread: bool = False,
    bot: bool = False,
    interaction_id: str | None = None,
    token: str = "aW50ZXJhY3Rpb24tdG9rZW4",
) -> dict[str, Any]:
    """A Discord APPLICATION_COMMAND interaction for `/ask prompt:<text>`."""
    user = {"id": user_id, "username": "ann", "global_name": "Ann", "discriminator": "0"}
    if bot:
        user["bot"] = True
    body: dict[str, Any] = {
        "id": interaction_id or str(1_200_000_000_000_000_000 + next_id()),
        "application_id": "1100000000000000001",
        "type": 2,
        "token": token,
        "version": 1,
        "data": {
            "id": "1100000000000000002",
            "name": "ask",
            "type": 1,
            "options": [{"name": "prompt", "type": 3, "value": text}],
        },
        "locale": "en-US",
    }
    if guild:
        channel_id = "1100000000000000300" if thread else "1100000000000000200"
        body |= {
            "guild_id": "1100000000000000100",
            "channel_id": channel_id,
            "channel": {"id": channel_id, "type": 11 if thread else 0, "parent_id": "1100000000000000200"}
            if thread
            else {"id": channel_id, "type": 0},
            "member": {"user": user, "roles": [], "permissions": "0"},
        }
    else:
        body |= {
            "channel_id": "1100000000000000400",
            "channel": {"id": "1100000000000000400", "type": 1},
            "user": user,
        }
    return body


def discord_message(
    *, guild: bool = True, mention_bot: str | None = None, text: str = "hello"
) -> dict[str, Any]:
    """A Discord gateway `MESSAGE_CREATE` message, as the relay hands it to the core."""
    data: dict[str, Any] = {
        "id": str(900_000_000_000_000_000 + next_id()),
        "type": 0,
        "channel_id": "900000000000000200",
        "author": {"id": "900000000000000042", "username": "ann", "global_name": "Ann", "bot": False},
        "content": text,
        "mentions": [{"id": mention_bot}] if mention_bot else [],
        "channel_type": 0,
    }
    if guild:
        data["guild_id"] = "900000000000000100"
    return data
