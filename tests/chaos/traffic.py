"""Signed webhook deliveries for chaos scenarios: one platform payload per message, signed as the
platform signs it, for a numbered session of a channel; and WebChat posts, as the WebChat page makes
them (the run's token is the harness's to add).

A session is named `<short><n>` (`tg3`, `sl0`, `dc2`, `wa1`, `wc4`); its peer ids are derived from `n`,
so a session always maps to the same conversation (and session key) in the pipeline.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass

from nacl.signing import SigningKey

from clawbus.channels.discord.inbound import signed_headers as discord_headers
from clawbus.channels.slack.inbound import signed_headers as slack_headers
from clawbus.channels.telegram.inbound import signed_headers as telegram_headers
from clawbus.channels.whatsapp.inbound import signed_headers as whatsapp_headers
from clawbus.ingress.webhooks import WebhookRequest, routes
from clawbus.schemas import DmScope, PeerKind, derive_session_key, runtime_session_id
from tests.ingress import payloads as p

ROUTES = routes()

TG_SECRET = "chaos-telegram-secret"
SLACK_SECRET = "chaos-slack-signing-secret"
WA_SECRET = "chaos-meta-app-secret"
WA_VERIFY = "chaos-verify-token"
DISCORD_KEY = SigningKey(b"c" * 32)

SHORT = {"telegram": "tg", "slack": "sl", "discord": "dc", "whatsapp": "wa", "webchat": "wc"}
WEBCHAT_PATH = "/webchat/api/messages"
CHANNEL_OF = {short: channel for channel, short in SHORT.items()}

# What ingress and the egress workers need to serve these four channels (plus each API base).
CHANNEL_ENV = {
    "CLAWBUS_SESSION__DM_SCOPE": "per-channel-peer",
    "CLAWBUS_TELEGRAM__BOT_TOKEN": p.BOT_TOKEN,
    "CLAWBUS_TELEGRAM__WEBHOOK_SECRET": TG_SECRET,
    "CLAWBUS_TELEGRAM__BOT_USERNAME": p.BOT_USERNAME,
    "CLAWBUS_TELEGRAM__DM_POLICY": "open",
    "CLAWBUS_TELEGRAM__ALLOW_FROM": '["*"]',
    "CLAWBUS_SLACK__BOT_TOKEN": "xoxb-chaos",
    "CLAWBUS_SLACK__SIGNING_SECRET": SLACK_SECRET,
    "CLAWBUS_SLACK__DM_POLICY": "open",
    "CLAWBUS_SLACK__ALLOW_FROM": '["*"]',
    "CLAWBUS_DISCORD__BOT_TOKEN": "discord-chaos",
    "CLAWBUS_DISCORD__APPLICATION_ID": "1100000000000000001",
    "CLAWBUS_DISCORD__PUBLIC_KEY": DISCORD_KEY.verify_key.encode().hex(),
    "CLAWBUS_DISCORD__DM_POLICY": "open",
    "CLAWBUS_DISCORD__ALLOW_FROM": '["*"]',
    "CLAWBUS_WHATSAPP__ACCESS_TOKEN": "wa-chaos",
    "CLAWBUS_WHATSAPP__PHONE_NUMBER_ID": "106540352242922",
    "CLAWBUS_WHATSAPP__APP_SECRET": WA_SECRET,
    "CLAWBUS_WHATSAPP__VERIFY_TOKEN": WA_VERIFY,
    "CLAWBUS_WHATSAPP__DM_POLICY": "open",
    "CLAWBUS_WHATSAPP__ALLOW_FROM": '["*"]',
}


def _split(session: str) -> tuple[str, int]:
    found = re.fullmatch(r"([a-z]+)([0-9]+)", session)
    if not found or found.group(1) not in CHANNEL_OF:
        raise ValueError(f"a chaos session is one of {sorted(CHANNEL_OF)} then a number, not {session!r}")
    return CHANNEL_OF[found.group(1)], int(found.group(2))


def _peer(channel: str, n: int) -> str:
    return {
        "telegram": str(5_000_000 + n),
        "slack": f"U0CHAOS{n:04d}",
        "discord": str(80_351_110_224_000_000 + n),
        "whatsapp": f"49151{n:08d}",
        "webchat": f"chaoswc{n}",  # the conversation id
    }[channel]


def session_key(session: str) -> str:
    """The pipeline's session key for a chaos session (as ingress derives it)."""
    channel, n = _split(session)
    return derive_session_key(
        agent_id="main",
        channel=channel,
        peer_kind=PeerKind.DIRECT,
        peer_id=_peer(channel, n),
        dm_scope=DmScope.PER_CHANNEL_PEER,
    )


def chat_of(session: str) -> tuple[str, str]:
    """The channel and chat id a reply to `session` goes to (what `clawbus cron add --channel --to`
    takes). Discord's direct chat comes from the interaction, so a Discord session has none here."""
    channel, n = _split(session)
    if channel == "discord":
        raise ValueError("a chaos Discord session has no chat a cron job could name")
    chat = f"D0CHAOS{n:04d}" if channel == "slack" else _peer(channel, n)  # WebChat: the conversation
    return channel, chat


def agentcore_session(session: str) -> str:
    """The runtime session id the dispatcher invokes AgentCore with (what fault rules match on)."""
    return runtime_session_id(session_key(session))


def event_key(session: str, seq: int) -> str:
    """A platform event id unique to (session, seq): the same message delivered again keeps it."""
    _, n = _split(session)
    return f"{n:04d}{seq:06d}"


def interaction_token(session: str, seq: int) -> str:
    """The token of Discord message `seq` of `session` (one per interaction, as Discord issues them)."""
    return f"chaos-token-{event_key(session, seq)}"


def conversation_of(session: str) -> str:
    """The WebChat conversation of a `wc` session."""
    channel, n = _split(session)
    if channel != "webchat":
        raise ValueError(f"{session!r} is not a WebChat session")
    return _peer(channel, n)


def signed(session: str, seq: int, text: str, *, retry_num: int | None = None) -> WebhookRequest:
    """Message `seq` of `session` carrying `text`, signed; the same arguments give the same event.
    A WebChat post carries no signature: the harness adds the run's token, as the page's cookie does."""
    channel, n = _split(session)
    peer, key, now = _peer(channel, n), event_key(session, seq), int(time.time())
    if channel == "webchat":  # the page resends with the same client message id: one event
        body = json.dumps({"conversation": peer, "text": text, "client_message_id": key}).encode()
        return WebhookRequest(
            method="POST", path=WEBCHAT_PATH, headers={"Content-Type": "application/json"}, body=body
        )
    if channel == "telegram":
        update = p.telegram_message(chat_id=int(peer), user_id=int(peer), text=text, update_id=int(key))
        body = json.dumps(update).encode()
        return _post("telegram", body, telegram_headers(TG_SECRET))
    if channel == "slack":
        event = p.slack_event(
            text=text, user=peer, channel=f"D0CHAOS{n:04d}", ts=f"1760000000.{key}", event_id=f"Ev{key}"
        )
        body = json.dumps(event).encode()
        return _post("slack", body, slack_headers(SLACK_SECRET, body, now, retry_num))
    if channel == "discord":
        command = p.discord_command(
            text=text, user_id=peer, interaction_id=f"12{key}", token=interaction_token(session, seq)
        )
        body = json.dumps(command).encode()
        return _post("discord", body, discord_headers(DISCORD_KEY, body, now))
    message = p.whatsapp_message(wamid=f"wamid.CHAOS{key}", sender=peer, text=text)
    body = json.dumps(message).encode()
    return _post("whatsapp", body, whatsapp_headers(WA_SECRET, body))


def _post(channel: str, body: bytes, headers: dict[str, str]) -> WebhookRequest:
    return WebhookRequest(method="POST", path=ROUTES[channel], headers=headers, body=body)


@dataclass(frozen=True)
class PlatformDelivery:
    """How a platform delivers one event to a webhook, as the chaos stand-in models it.

    `ack_deadline_s`: how long the platform waits for the 2xx before it counts the attempt failed (the
    request may still be handled: the platform just stops listening). `retry_after_s`: the waits before
    each retry after a failed attempt; when they run out the platform gives up.
    `failure_shown_to_user`: a failure the platform gave up on is shown to the user (who then knows the
    message did not get through: it may be answered or not, never twice); otherwise the user's message
    sits in the chat like any other and must be answered, whatever the webhook saw.
    """

    ack_deadline_s: float
    retry_after_s: tuple[float, ...]
    failure_shown_to_user: bool = False
    retry_header: bool = False  # the retry carries its number (Slack's X-Slack-Retry-Num)


def _backoff(first: float, cap: float, total: float) -> tuple[float, ...]:
    waits, wait = [], first
    while sum(waits) + wait <= total:
        waits.append(wait)
        wait = min(cap, wait * 2)
    return tuple(waits)


# Telegram: "gives up after a reasonable amount of attempts" (no published schedule; updates wait up to
# 24 h): modelled as backoff 1 s .. 10 s for 10 minutes. WhatsApp: "retried with decreasing frequency for
# up to 7 days": the same shape, cut to 10 minutes (longer than any scenario). Slack: an ack within 3 s,
# then 3 retries, "immediately, ~1 min, ~5 min", here one tenth of that (0, 6, 30 s: the pipeline must
# recover within Slack's windows scaled down, a stricter test). Discord interactions: an answer within
# 3 s or the user sees "The application did not respond"; never retried.
PLATFORM_DELIVERY = {
    "telegram": PlatformDelivery(ack_deadline_s=15, retry_after_s=_backoff(1, 10, 600)),
    "whatsapp": PlatformDelivery(ack_deadline_s=20, retry_after_s=_backoff(1, 10, 600)),
    "slack": PlatformDelivery(ack_deadline_s=3, retry_after_s=(0, 6, 30), retry_header=True),
    "discord": PlatformDelivery(ack_deadline_s=3, retry_after_s=(), failure_shown_to_user=True),
    # The WebChat page (ingress/http/static/index.html) resends with the same client message id, backing
    # off 0.5 s doubling to 4 s for 8 attempts, then shows "Not sent"; fetch itself waits long.
    "webchat": PlatformDelivery(
        ack_deadline_s=30, retry_after_s=(0.5, 1, 2, 4, 4, 4, 4), failure_shown_to_user=True
    ),
}


def delivery_of(session: str) -> PlatformDelivery:
    """The delivery model of the platform `session` talks on."""
    return PLATFORM_DELIVERY[_split(session)[0]]
