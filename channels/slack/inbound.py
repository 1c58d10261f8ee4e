"""Slack Events API requests, verified and normalised. Pure.

Signatures are checked with slack_sdk's `SignatureVerifier` (v0 HMAC over `v0:<timestamp>:<body>`,
refused when the timestamp is more than 5 minutes from now). `url_verification` is answered with its
challenge. Inside `event_callback` envelopes (read with slack_bolt's payload helpers):

- `message` without a subtype, and `app_mention`, are turns; `file_share` and `thread_broadcast` carry
  user text too and are turns as well; a `file_share`'s `files` ride along (`media.py`).
- Ignored on purpose: messages from any bot (`bot_id`, subtype `bot_message`, our own bot user),
  edits and deletions (`message_changed`, `message_deleted`), joins/leaves/topic changes and every other
  subtype, and every non-message event type.

A message mentioning the bot in a channel arrives twice when the app subscribes to both `message.*` and
`app_mention` (two `event_id`s). So the turn's event id is `slack:<team>:<channel>:<ts>` (a message's
`ts` is unique in its channel): both deliveries, and every retry, dedup to one turn.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from slack_bolt.request.payload_utils import to_event
from slack_sdk.signature import Clock, SignatureVerifier

from clawbus.bus.errors import InvalidEnvelope, Unauthorized
from clawbus.channels.normalised import Context, Ignored, Parsed, Turn, build_event, shape_checked
from clawbus.channels.slack.media import attachments
from clawbus.schemas import Peer, PeerKind, ReplyTarget, Sender
from clawbus.schemas.routing import RouteInput, RoutePeer

CHANNEL = "slack"
_USER_SUBTYPES = {None, "file_share", "thread_broadcast"}
_KINDS = {
    "im": PeerKind.DIRECT,
    "mpim": PeerKind.GROUP,
    "channel": PeerKind.CHANNEL,
    "group": PeerKind.CHANNEL,
}
_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class _FixedClock(Clock):
    def __init__(self, now: datetime) -> None:
        self._now = now.timestamp()

    def now(self) -> float:
        return self._now


def signed_headers(
    signing_secret: str, body: bytes, timestamp: int, retry_num: int | None = None
) -> dict[str, str]:
    """Headers of a Slack Events API request signed at `timestamp` (Unix seconds), as Slack builds them
    (load generators, benchmarks and tests)."""
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=str(timestamp), body=body)
    headers = {
        "content-type": "application/json",
        "x-slack-request-timestamp": str(timestamp),
        "x-slack-signature": signature or "",
    }
    if retry_num is not None:
        headers |= {"x-slack-retry-num": str(retry_num), "x-slack-retry-reason": "http_timeout"}
    return headers


def verify(body: bytes, headers: Mapping[str, str], signing_secret: str | None, now: datetime) -> None:
    """Raise `Unauthorized` unless the request is signed with `signing_secret` within 5 minutes of `now`."""
    if not signing_secret:
        raise Unauthorized("no Slack signing secret configured; set CLAWBUS_SLACK__SIGNING_SECRET")
    verifier = SignatureVerifier(signing_secret, clock=_FixedClock(now))
    try:
        valid = verifier.is_valid_request(body, headers)
    except (ValueError, UnicodeDecodeError):  # a non-numeric timestamp, a body that is not UTF-8
        valid = False
    if not valid:
        raise Unauthorized("bad Slack signature or timestamp outside the 5-minute window")


def _str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _bot_user(body: Mapping[str, Any]) -> str | None:
    authorizations = body.get("authorizations")
    if isinstance(authorizations, list):
        for item in authorizations:
            if isinstance(item, dict) and item.get("is_bot") and isinstance(item.get("user_id"), str):
                return str(item["user_id"])
    return None


@shape_checked
def normalise(body: dict[str, Any], *, ctx: Context) -> Parsed:
    """The turn in a Slack Events API payload, the challenge to answer, or why it was ignored."""
    kind = body.get("type")
    if kind == "url_verification":
        challenge = body.get("challenge")
        if not isinstance(challenge, str):
            raise InvalidEnvelope("url_verification without a challenge")
        return Parsed(reply={"challenge": challenge})
    if kind != "event_callback":
        return Parsed(ignored=(Ignored(f"envelope_{kind if isinstance(kind, str) else 'unknown'}"),))
    event = to_event(body) if isinstance(body.get("event"), dict) else None
    team, envelope_id = _str(body, "team_id"), _str(body, "event_id")
    if event is None or team is None or envelope_id is None:
        raise InvalidEnvelope("event_callback without team_id, event_id or event")
    return _normalise_event(event, team, envelope_id, _bot_user(body), ctx)


def _normalise_event(
    event: Mapping[str, Any], team: str, envelope_id: str, bot_user: str | None, ctx: Context
) -> Parsed:
    ignored_id = f"{CHANNEL}:{team}:{envelope_id}"
    event_type = event.get("type")
    if event_type not in ("message", "app_mention"):
        return Parsed(ignored=(Ignored("unsupported_event", ignored_id),))
    subtype = event.get("subtype")
    if subtype is not None and not isinstance(subtype, str):
        raise InvalidEnvelope("Slack event subtype is not a string")
    if subtype in ("message_changed", "message_deleted"):
        return Parsed(ignored=(Ignored("edit", ignored_id),))
    user, channel, ts = _str(event, "user"), _str(event, "channel"), _str(event, "ts")
    if event.get("bot_id") or subtype == "bot_message" or (bot_user and user == bot_user):
        reason = "own_message" if bot_user and user == bot_user else "bot_message"
        return Parsed(ignored=(Ignored(reason, ignored_id),))
    if subtype not in _USER_SUBTYPES:
        return Parsed(ignored=(Ignored("unsupported_subtype", ignored_id),))
    said = event.get("text")
    text = said if isinstance(said, str) else ""
    files = attachments(event)
    if user is None or channel is None or ts is None or not (text or files):
        return Parsed(ignored=(Ignored("no_text", ignored_id),))
    if not (_ID.match(user) and _ID.match(channel) and _ID.match(ts)):
        raise InvalidEnvelope("Slack ids outside the expected character set")
    channel_type = event.get("channel_type")
    peer_kind = _KINDS.get(channel_type if isinstance(channel_type, str) else "", PeerKind.CHANNEL)
    if channel_type is None and channel.startswith("D"):
        peer_kind = PeerKind.DIRECT
    thread = _str(event, "thread_ts")
    route = ctx.route(
        RouteInput(
            CHANNEL,
            RoutePeer(peer_kind, user if peer_kind is PeerKind.DIRECT else channel),
            account_id=ctx.account_id,
            team_id=team,
            thread_id=thread if thread and peer_kind is not PeerKind.DIRECT else None,
        )
    )
    inbound = build_event(
        event_id=f"{CHANNEL}:{team}:{channel}:{ts}",
        channel=CHANNEL,
        account_id=ctx.account_id,
        agent_id=route.agent_id,
        session_key=route.session_key,
        parent_session_key=route.parent_session_key,
        peer=Peer(kind=peer_kind, id=channel),
        sender=Sender(id=user),
        text=text,
        attachments=files,
        reply_to=ReplyTarget(chat_id=channel, thread_id=thread, reply_to_message_id=ts),
        received_at=ctx.now,
    )
    mentioned = (
        peer_kind is PeerKind.DIRECT
        or event_type == "app_mention"
        or bool(bot_user and f"<@{bot_user}>" in text)
    )
    return Parsed(turns=(Turn(inbound, mentioned),))
