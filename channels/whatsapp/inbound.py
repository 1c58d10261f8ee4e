"""WhatsApp Cloud API webhooks, verified and normalised. Pure.

Meta verifies the endpoint with a GET (`hub.mode=subscribe`, `hub.verify_token`, `hub.challenge`: echo
the challenge when the token matches, else 403) and signs every POST with
`X-Hub-Signature-256: sha256=<HMAC-SHA256(app secret, raw body)>` (checked with pywa's validator).
A payload batches entries and changes; each message in `value.messages` is parsed with pywa's
`Message` and becomes one turn (text messages, and image, document, audio, video and sticker messages
with their caption: `media.py`; other types, reactions, edits and system notices are
ignored with a reason). `value.statuses` (sent/delivered/read/failed receipts for our own replies) are
never turns. The sender id is the phone number (`wa_id`) when Meta sends it, else the business-scoped
user id (`user_id`, BSUID). The event id is `whatsapp:<wamid>`.

A message's own `timestamp` (Unix seconds, signed with the rest of the body) is checked against the dedup
memory: Meta's signature has no expiry, so once the dedup record of a message has expired a captured
payload would verify and run again. A message older than that memory (less `CLOCK_SKEW_S`, so a clock
ahead of ours cannot open a gap) is dropped as `stale`; a message without a timestamp of digits is not
a WhatsApp message.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

from pywa.client import WhatsApp
from pywa.types.chat import ChatType
from pywa.types.message import Message
from pywa.types.others import MessageType
from pywa.utils import webhook_updates_validator

from clawbus.bus.errors import InvalidEnvelope, Unauthorized
from clawbus.channels.normalised import Context, Ignored, Parsed, Turn, build_event, shape_checked
from clawbus.channels.whatsapp.media import MEDIA_TYPES, attachments
from clawbus.schemas import Peer, PeerKind, ReplyTarget, Sender
from clawbus.schemas.routing import RouteInput, RoutePeer

CHANNEL = "whatsapp"
SIGNATURE_HEADER = "x-hub-signature-256"
_IGNORED_TYPES = {MessageType.EDIT: "edit", MessageType.REVOKE: "edit", MessageType.REACTION: "reaction"}
# Up to year 5138: whole seconds that no datetime conversion (ours or pywa's) overflows.
_UNIX_SECONDS = re.compile(r"^[0-9]{1,11}$")
# How far Meta's clock may run ahead of ours; a message this close to the end of the dedup memory is
# dropped already, so a replay after its dedup record expired is always older than the limit.
CLOCK_SKEW_S = 300


def signed_headers(app_secret: str, body: bytes) -> dict[str, str]:
    """Headers of a WhatsApp Cloud API webhook POST (HMAC-SHA256 of the raw body with the app secret),
    for load generators, benchmarks and tests."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return {"content-type": "application/json", SIGNATURE_HEADER: f"sha256={digest}"}


def verify_subscription(query: Mapping[str, str], verify_token: str | None) -> str:
    """The challenge to echo for Meta's verification GET, or `Unauthorized` (answer 403)."""
    token = query.get("hub.verify_token")
    if (
        not verify_token
        or query.get("hub.mode") != "subscribe"
        or token is None
        or not hmac.compare_digest(token.encode(), verify_token.encode())
    ):
        raise Unauthorized("WhatsApp verification failed: wrong hub.mode or hub.verify_token")
    return query.get("hub.challenge", "")


def verify(body: bytes, signature: str | None, app_secret: str | None) -> None:
    """Raise `Unauthorized` unless `signature` is `sha256=<HMAC of body with the app secret>`."""
    if not app_secret:
        raise Unauthorized("no WhatsApp app secret configured; set CLAWBUS_WHATSAPP__APP_SECRET")
    if not signature or not signature.startswith("sha256="):
        raise Unauthorized("missing X-Hub-Signature-256")
    if not webhook_updates_validator(app_secret, body, signature):
        raise Unauthorized("bad X-Hub-Signature-256")


@functools.cache
def _parser() -> WhatsApp:
    # pywa's types are built from a client; this one only parses and never calls the Graph API.
    return WhatsApp(phone_id="0", token="parse-only", validate_updates=False, filter_updates=False)  # noqa: S106


def _contact_for(message: Mapping[str, Any], contacts: list[Any]) -> dict[str, Any]:
    for contact in contacts:
        if isinstance(contact, dict) and (
            contact.get("wa_id") == message.get("from")
            or contact.get("user_id") == message.get("from_user_id")
        ):
            return contact
    first = contacts[0] if contacts and isinstance(contacts[0], dict) else {}
    return dict(first)


def _parse(entry: Mapping[str, Any], value: Mapping[str, Any], raw: Mapping[str, Any]) -> Message:
    contact = _contact_for(raw, value.get("contacts") or [])
    contact.setdefault("user_id", contact.get("wa_id") or raw.get("from_user_id") or raw.get("from"))
    single = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": entry.get("id"),
                "changes": [
                    {"field": "messages", "value": {**value, "contacts": [contact], "messages": [raw]}}
                ],
            }
        ],
    }
    try:
        return Message.from_update(_parser(), single)  # type: ignore[arg-type]  # RawUpdate is a dict
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise InvalidEnvelope(f"not a WhatsApp message: {type(exc).__name__}") from exc


def _turn(message: Message, event_id: str, display_number: str | None, ctx: Context) -> Turn:
    user = message.from_user
    sender = user.wa_id or user.bsuid
    group = message.chat.type is ChatType.GROUP
    kind = PeerKind.GROUP if group else PeerKind.DIRECT
    chat_id = str(message.chat.id) if group else sender
    text = message.text or message.caption or ""
    route = ctx.route(RouteInput(CHANNEL, RoutePeer(kind, chat_id), account_id=ctx.account_id))
    event = build_event(
        event_id=event_id,
        channel=CHANNEL,
        account_id=ctx.account_id,
        agent_id=route.agent_id,
        session_key=route.session_key,
        parent_session_key=route.parent_session_key,
        peer=Peer(kind=kind, id=chat_id),
        sender=Sender(id=sender, name=user.name),
        text=text,
        attachments=attachments(message),
        reply_to=ReplyTarget(chat_id=chat_id, reply_to_message_id=message.id),
        received_at=ctx.now,
    )
    mentioned = not group or bool(display_number and f"@{display_number}" in text)
    return Turn(event, mentioned)


@shape_checked
def normalise(body: dict[str, Any], *, ctx: Context, dedup_ttl_s: int) -> Parsed:
    """Every turn and ignored status in a webhook payload, or `InvalidEnvelope`.

    `dedup_ttl_s` is how long ingress remembers an event id (`IngressSettings.dedup_ttl_s`): messages
    sent longer ago than that (less `CLOCK_SKEW_S`) before `ctx.now` are ignored as `stale`.
    """
    if body.get("object") != "whatsapp_business_account" or not isinstance(body.get("entry"), list):
        raise InvalidEnvelope("not a WhatsApp Business Account webhook")
    oldest = int(ctx.now.timestamp()) - dedup_ttl_s + CLOCK_SKEW_S
    turns: list[Turn] = []
    ignored: list[Ignored] = []
    for entry in body["entry"]:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else []:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict) or change.get("field") != "messages":
                ignored.append(Ignored("unsupported_field"))
                continue
            statuses = value.get("statuses")
            if isinstance(statuses, list):
                ignored.extend(Ignored("status_update") for _ in statuses)
            messages = value.get("messages")
            for raw in messages if isinstance(messages, list) else []:
                found = _collect(entry, value, raw, ctx, oldest)
                if isinstance(found, Turn):
                    turns.append(found)
                else:
                    ignored.append(found)
    return Parsed(turns=tuple(turns), ignored=tuple(ignored))


def _sent_at(raw: Mapping[str, Any]) -> int:
    """The message's own send time in Unix seconds (Meta sends a string of digits)."""
    value = raw.get("timestamp")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _UNIX_SECONDS.match(value):
        raise InvalidEnvelope("WhatsApp message without a timestamp in Unix seconds")
    return int(value)


def _collect(
    entry: Mapping[str, Any], value: Mapping[str, Any], raw: Any, ctx: Context, oldest: int
) -> Turn | Ignored:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
        raise InvalidEnvelope("WhatsApp message without an id")
    event_id = f"{CHANNEL}:{raw['id']}"
    kind = raw.get("type")
    if not isinstance(kind, str):
        raise InvalidEnvelope("WhatsApp message without a type")
    if _sent_at(raw) < oldest:
        return Ignored("stale", event_id)
    if kind in _IGNORED_TYPES:
        return Ignored(_IGNORED_TYPES[MessageType(kind)], event_id)
    if kind != MessageType.TEXT and kind not in MEDIA_TYPES:
        return Ignored("unsupported_type", event_id)
    message = _parse(entry, value, raw)
    if not message.text and not attachments(message):
        return Ignored("no_text", event_id)
    metadata = value.get("metadata")
    display = metadata.get("display_phone_number") if isinstance(metadata, dict) else None
    return _turn(message, event_id, display if isinstance(display, str) else None, ctx)
