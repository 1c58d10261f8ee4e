"""Discord interactions (the HTTP endpoint), verified and normalised. Pure.

Discord signs every request with the application's Ed25519 key over `X-Signature-Timestamp + body`
(checked with PyNaCl; Discord probes the endpoint with bad signatures and expects 401). The signature
covers the timestamp but nothing binds it to the moment of delivery, so a captured request would verify
forever: one whose timestamp is more than 5 minutes from now (either way) is refused too. A PING is
answered with a PONG. A slash command (APPLICATION_COMMAND) is a turn, answered at once with a deferred
response (type 5, "thinking…"); the agent's reply follows through egress as a follow-up message, which
needs the interaction token, so `reply_to` carries `interaction_token` and `application_id` (the token
is valid for 15 minutes). Components and modals are acknowledged without a turn (type 6); other types
are refused. Commands run by bots are ignored. The event id is `discord:<interaction id>`.

Plain messages arrive over the gateway (the relay, `MESSAGE_CREATE`) and go through `normalise_message`:
a default message or a reply (types 0 and 19) with text, in a DM, a guild channel or a thread, is a
turn, with its `attachments` (`media.py`); our own messages, other bots', system messages and messages
with neither text nor attachments (no MESSAGE_CONTENT intent) are ignored. It is addressed to the bot
in a DM, when it @-mentions the bot, or when it replies to one of the bot's messages. The event id is
`discord:<message id>` (snowflakes are unique across Discord, so message and interaction ids never collide).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from clawbus.bus.errors import InvalidEnvelope, Unauthorized
from clawbus.channels.discord.media import attachments
from clawbus.channels.normalised import Context, Ignored, Parsed, Turn, build_event, shape_checked
from clawbus.schemas import Peer, PeerKind, ReplyTarget, Sender
from clawbus.schemas.routing import RouteInput, RoutePeer

CHANNEL = "discord"
SIGNATURE_HEADER = "x-signature-ed25519"
TIMESTAMP_HEADER = "x-signature-timestamp"
PING, APPLICATION_COMMAND, COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
PONG = {"type": 1}
DEFERRED_CHANNEL_MESSAGE = {"type": 5}
DEFERRED_UPDATE = {"type": 6}
_THREAD_TYPES = {10, 11, 12}
_USER_MESSAGE_TYPES = {0, 19}  # DEFAULT, REPLY
_DM_TYPES = {1, 3}
_SNOWFLAKE = re.compile(r"^[0-9]{1,20}$")
_UNIX_SECONDS = re.compile(r"^[0-9]{1,12}$")
# How far a request's X-Signature-Timestamp may be from our clock (the window Slack's verifier uses).
MAX_SKEW_S = 300


def signed_headers(signing_key: SigningKey, body: bytes, timestamp: int) -> dict[str, str]:
    """Headers of a Discord interaction request signed by the application's Ed25519 key (load
    generators, benchmarks and tests)."""
    signed = signing_key.sign(str(timestamp).encode() + body)
    return {
        "content-type": "application/json",
        SIGNATURE_HEADER: signed.signature.hex(),
        TIMESTAMP_HEADER: str(timestamp),
    }


def verify(
    body: bytes, signature: str | None, timestamp: str | None, public_key: str | None, *, now: datetime
) -> None:
    """Raise `Unauthorized` unless `signature` is the application key's Ed25519 signature of the request
    and its timestamp is within `MAX_SKEW_S` of `now`; the message says which check failed (never the body).
    """
    if not public_key:
        raise Unauthorized("no Discord public key configured; set CLAWBUS_DISCORD__PUBLIC_KEY")
    if not signature or not timestamp:
        raise Unauthorized("missing X-Signature-Ed25519 or X-Signature-Timestamp")
    try:
        VerifyKey(bytes.fromhex(public_key)).verify(timestamp.encode() + body, bytes.fromhex(signature))
    except (BadSignatureError, ValueError, TypeError) as exc:
        raise Unauthorized("bad Discord request signature") from exc
    if not _UNIX_SECONDS.match(timestamp):
        raise Unauthorized("X-Signature-Timestamp is not a Unix time in seconds")
    # Whole seconds on both sides: no float or datetime conversion that a huge value could overflow.
    skew = int(now.timestamp()) - int(timestamp)
    if abs(skew) > MAX_SKEW_S:
        when = f"{skew} s old" if skew > 0 else f"{-skew} s in the future"
        raise Unauthorized(
            f"Discord request timestamp is {when}, outside the {MAX_SKEW_S} s window "
            "(a replayed or delayed interaction, or a clock out of sync)"
        )


def _snowflake(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and _SNOWFLAKE.match(value) else None


def _command_text(data: Mapping[str, Any]) -> str:
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidEnvelope("application command without a name")
    values: list[str] = []
    options = data.get("options")
    for option in options if isinstance(options, list) else []:
        if isinstance(option, dict) and isinstance(option.get("value"), str | int | float | bool):
            values.append(str(option["value"]))
    return " ".join(values) if values else f"/{name}"


def _roles(member: Any) -> tuple[str, ...]:
    roles = member.get("roles") if isinstance(member, dict) else None
    return tuple(str(r) for r in roles if isinstance(r, str | int)) if isinstance(roles, list) else ()


def _route_input(
    channel_id: str, parent: str | None, author: str | None, guild: Any, member: Any, account_id: str
) -> RouteInput:
    """What routing reads: a DM is the author; a guild channel is itself, a thread is its own channel
    under its parent channel (bindings on the parent match it: `binding.peer.parent`), keyed
    `<parent key>:thread:<thread>`; the guild and the member's roles come along."""
    guild_id = str(guild) if isinstance(guild, str | int) else None
    if author is not None:
        return RouteInput(CHANNEL, RoutePeer(PeerKind.DIRECT, author), account_id=account_id)
    return RouteInput(
        CHANNEL,
        RoutePeer(PeerKind.CHANNEL, channel_id),
        account_id=account_id,
        parent_peer=RoutePeer(PeerKind.CHANNEL, parent) if parent else None,
        guild_id=guild_id,
        member_roles=_roles(member),
        thread_id=channel_id if parent else None,
    )


def _user(interaction: Mapping[str, Any]) -> Mapping[str, Any]:
    member = interaction.get("member")
    user = member.get("user") if isinstance(member, dict) else interaction.get("user")
    if not isinstance(user, dict) or _snowflake(user, "id") is None:
        raise InvalidEnvelope("interaction without a user id")
    return user


@shape_checked
def normalise(interaction: dict[str, Any], *, ctx: Context) -> Parsed:
    """The turn in an interaction and the response body to send, or `InvalidEnvelope`."""
    kind = interaction.get("type")
    if kind == PING:
        return Parsed(reply=PONG)
    interaction_id = _snowflake(interaction, "id")
    if interaction_id is None:
        raise InvalidEnvelope("interaction without an id")
    event_id = f"{CHANNEL}:{interaction_id}"
    if kind in (COMPONENT, MODAL_SUBMIT):
        return Parsed(ignored=(Ignored("component", event_id),), reply=DEFERRED_UPDATE)
    if kind != APPLICATION_COMMAND:
        raise InvalidEnvelope(f"unsupported interaction type {kind!r}")
    data, token = interaction.get("data"), interaction.get("token")
    channel_id = _snowflake(interaction, "channel_id")
    if not isinstance(data, dict) or not isinstance(token, str) or channel_id is None:
        raise InvalidEnvelope("application command without data, token or channel_id")
    user = _user(interaction)
    if user.get("bot") is True:
        return Parsed(ignored=(Ignored("bot_message", event_id),), reply=DEFERRED_CHANNEL_MESSAGE)
    user_id = str(user["id"])
    channel = interaction.get("channel")
    channel = channel if isinstance(channel, dict) else {}
    channel_type = channel.get("type") if isinstance(channel.get("type"), int) else None
    thread = channel_type in _THREAD_TYPES and _snowflake(channel, "parent_id") is not None
    direct = interaction.get("guild_id") is None or channel_type in _DM_TYPES
    peer_kind = PeerKind.DIRECT if direct else PeerKind.CHANNEL
    peer_id = (_snowflake(channel, "parent_id") or channel_id) if thread else channel_id
    parent = _snowflake(channel, "parent_id") if thread and not direct else None
    route = ctx.route(
        _route_input(
            channel_id,
            parent,
            user_id if direct else None,
            interaction.get("guild_id"),
            interaction.get("member"),
            ctx.account_id,
        )
    )
    application_id = _snowflake(interaction, "application_id")
    if application_id is None:
        raise InvalidEnvelope("application command without an application_id")
    target = ReplyTarget.model_validate(
        {"chat_id": channel_id, "interaction_token": token, "application_id": application_id}
    )
    event = build_event(
        event_id=event_id,
        channel=CHANNEL,
        account_id=ctx.account_id,
        agent_id=route.agent_id,
        session_key=route.session_key,
        parent_session_key=route.parent_session_key,
        peer=Peer(kind=peer_kind, id=peer_id),
        sender=Sender(id=user_id, name=_name(user)),
        text=_command_text(data),
        reply_to=target,
        received_at=ctx.now,
    )
    return Parsed(turns=(Turn(event, mentioned=True),), reply=DEFERRED_CHANNEL_MESSAGE)


def _name(user: Mapping[str, Any]) -> str | None:
    name = user.get("global_name") or user.get("username")
    return name if isinstance(name, str) else None


def _message_turn_shape(data: Mapping[str, Any]) -> tuple[str, str, Mapping[str, Any]]:
    message_id, channel_id = _snowflake(data, "id"), _snowflake(data, "channel_id")
    author = data.get("author")
    if message_id is None or channel_id is None or not isinstance(author, dict):
        raise InvalidEnvelope("gateway message without id, channel_id or author")
    if _snowflake(author, "id") is None:
        raise InvalidEnvelope("gateway message author without an id")
    return message_id, channel_id, author


def _addresses_bot(data: Mapping[str, Any], bot_id: str) -> bool:
    mentions = data.get("mentions")
    if isinstance(mentions, list) and any(isinstance(m, dict) and m.get("id") == bot_id for m in mentions):
        return True
    replied = data.get("referenced_message")
    author = replied.get("author") if isinstance(replied, dict) else None
    return isinstance(author, dict) and author.get("id") == bot_id


@shape_checked
def normalise_message(data: dict[str, Any], *, bot_id: str, ctx: Context) -> Parsed:
    """The turn in a gateway `MESSAGE_CREATE` payload, or why it was ignored; `InvalidEnvelope` otherwise.

    `data` is Discord's message object, plus what the gateway client knows from its channel cache and
    the payload leaves out: `channel_type` (10-12 for threads) and, in a thread, `parent_id`.
    """
    message_id, channel_id, author = _message_turn_shape(data)
    event_id = f"{CHANNEL}:{message_id}"
    author_id = str(author["id"])
    if author_id == bot_id:
        return Parsed(ignored=(Ignored("own_message", event_id),))
    if author.get("bot") is True or data.get("webhook_id") is not None:
        return Parsed(ignored=(Ignored("bot_message", event_id),))
    if data.get("type", 0) not in _USER_MESSAGE_TYPES:
        return Parsed(ignored=(Ignored("unsupported_message", event_id),))
    content = data.get("content")
    text = content if isinstance(content, str) else ""
    files = attachments(data)
    if not text.strip() and not files:
        return Parsed(ignored=(Ignored("no_text", event_id),))
    direct = data.get("guild_id") is None
    parent = _snowflake(data, "parent_id")
    thread = not direct and data.get("channel_type") in _THREAD_TYPES and parent is not None
    peer_kind = PeerKind.DIRECT if direct else PeerKind.CHANNEL
    route = ctx.route(
        _route_input(
            channel_id,
            parent if thread else None,
            author_id if direct else None,
            data.get("guild_id"),
            data.get("member"),
            ctx.account_id,
        )
    )
    event = build_event(
        event_id=event_id,
        channel=CHANNEL,
        account_id=ctx.account_id,
        agent_id=route.agent_id,
        session_key=route.session_key,
        parent_session_key=route.parent_session_key,
        peer=Peer(kind=peer_kind, id=parent if thread and parent else channel_id),
        sender=Sender(id=author_id, name=_name(author)),
        text=text,
        attachments=files,
        reply_to=ReplyTarget(
            chat_id=channel_id, thread_id=channel_id if thread else None, reply_to_message_id=message_id
        ),
        received_at=ctx.now,
    )
    return Parsed(turns=(Turn(event, direct or _addresses_bot(data, bot_id)),))
