"""What a channel is, as the stages see it: a `ChannelSpec` and the narrow pieces it is made of.

A spec bundles everything platform-specific: how its webhook is verified and normalised (`Webhook`),
the connection the relay holds instead of a webhook (`Relay`), how a reply goes out (`Outbound`: a rate
`Profile` and a `PlatformClient`, or a whole sender for WebChat), how its ids are written in allowlists
(`IdRules`) and its settings (`settings`, an accessor into `Settings`, so a test's channel can bring its
own object). Stages loop over `registry.CHANNELS` and call these; none of them names a platform.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, runtime_checkable

from clawbus.channels.media_download import MediaDeps, MediaFetcher
from clawbus.channels.normalised import Context, Parsed
from clawbus.channels.text_style import TextStyle
from clawbus.schemas import OutboundReply, ReplyTarget

if TYPE_CHECKING:
    from clawbus.bus.settings import Settings

S = TypeVar("S")
T = TypeVar("T")


@dataclass(frozen=True)
class WebhookRequest:
    """A webhook call as every runtime can describe it (header names lower-cased)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes = b""
    query: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookResponse:
    """What to answer: a status, a JSON object (or plain text) and extra headers."""

    status: int
    body: dict[str, Any] | str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Webhook(Generic[S]):
    """A channel's webhook: where it is served and how a call is checked and read.

    `verify(request, cfg, now)` raises `Unauthorized`; `normalise(data, cfg, ctx)` returns `Parsed` or
    raises `InvalidEnvelope`; `subscribe(request, cfg)` answers a GET handshake (WhatsApp's) and raises
    `Unauthorized`; `reject_headers` go on every 4xx (Slack's `X-Slack-No-Retry`); `sign(body, cfg, ts)`
    returns the headers the platform would send (load generators, benchmarks and tests only); `load()`
    imports the platform SDK `verify`/`normalise` use (ingress, at start, for an enabled channel only).
    """

    path: str
    verify: Callable[[WebhookRequest, S, datetime], None]
    normalise: Callable[[dict[str, Any], S, Context], Parsed]
    sign: Callable[[bytes, S, int], dict[str, str]] | None = None
    subscribe: Callable[[WebhookRequest, S], str] | None = None
    reject_headers: Mapping[str, str] = field(default_factory=dict)
    load: Callable[[], None] | None = None


class Handoff(Protocol):
    """Where a relay transport hands each event (ingress's `Handoff`: normalise, gate, enqueue)."""

    channel: str

    async def hand_over(self, normalise: Callable[[Context], Parsed]) -> None:
        """Normalise with the intake's context and accept; once it returns the event may be acked."""
        ...


class RelayTransport(Protocol):
    """One platform connection the relay holds (long polling, a WebSocket)."""

    channel: str
    name: str

    async def session(self, stop: asyncio.Event) -> None:
        """Hold one connection, handing every event over, until `stop` is set (return) or it fails
        (raise). Must not swallow `asyncio.CancelledError`."""
        ...


@dataclass(frozen=True)
class Relay(Generic[S]):
    """The connection the relay holds for a channel when `enabled(cfg)`; `connect` builds its transport."""

    enabled: Callable[[S], bool]
    connect: Callable[[S, Handoff], RelayTransport]


class Stopped(Exception):
    """`stop` was set while waiting (raised by `until_stopped`)."""


async def until_stopped(awaitable: Awaitable[T], stop: asyncio.Event) -> T:
    """The awaitable's result, or `Stopped` (the awaitable cancelled) as soon as `stop` is set."""
    work = asyncio.ensure_future(awaitable)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        if not work.done():
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work
    if work.cancelled():
        raise Stopped
    return work.result()


@dataclass(frozen=True)
class Limit:
    """At most `count` sends in any `period_s` seconds within one scope (e.g. `chat:<id>`)."""

    count: int
    period_s: float


Scopes = list[tuple[str, Limit]]


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts message length (an emoji outside the BMP is 2)."""
    return len(text.encode("utf-16-le")) // 2


def per_chat(count: int, period_s: float, bot: Limit | None = None) -> Callable[[str], Scopes]:
    """Rate scopes of a platform that limits sends per chat (and, with `bot`, per bot)."""

    def scopes(chat_id: str) -> Scopes:
        found = [(f"chat:{chat_id}", Limit(count, period_s))]
        return [*found, ("bot", bot)] if bot else found

    return scopes


class SendAs(StrEnum):
    """The platform call a file goes out with: a photo, a voice note, audio, a video, or a document."""

    PHOTO = "photo"
    VOICE = "voice"
    AUDIO = "audio"
    VIDEO = "video"
    DOCUMENT = "document"


MB = 1024 * 1024


@dataclass(frozen=True)
class MediaCaps:
    """What a platform takes as a file: the largest file at all (`max_bytes`) and, per richer kind, the
    media types it takes and its own cap. A kind the platform lacks has no entry (its files go out as
    documents); `egress/core/media_plan.py` decides with these."""

    max_bytes: int
    kinds: Mapping[SendAs, tuple[frozenset[str], int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Profile:
    """One platform's limits. `scopes(chat_id)` names the rate-limit windows a send to that chat uses;
    `measure` is how the platform counts a message's length; `style` how markdown is rendered; `media`
    what it takes as files (None: files are not sent there, a text names them instead); `edits` a
    bot-wide window that edits (progress drafts) also keep."""

    name: str
    limit: int
    style: TextStyle
    scopes: Callable[[str], Scopes]
    measure: Callable[[str], int] = len
    media: MediaCaps | None = None
    edits: Limit | None = None  # a bot-wide limit on message edits besides the chat's (Slack's Tier 3)


class PlatformClient(Protocol):
    """One platform's API, errors already translated into `bus.errors` types."""

    async def post(self, target: ReplyTarget, text: str, *, first: bool, key: str) -> str:
        """Send one rendered message; return the platform's message id.

        `first` is true for a reply's first message (the one that quotes `reply_to_message_id`);
        `key` is the chunk's ledger key (`send_nonce(key)` is the nonce a platform that takes one gets).
        A client that can also settle an interrupted send implements `Reconciles`.
        """
        ...

    async def typing(self, target: ReplyTarget) -> None:
        """Show a typing indicator in the target chat, where the platform has one."""
        ...


@dataclass(frozen=True)
class MediaFile:
    """A file to upload: its bytes, name, media type, the call it goes out with and its caption."""

    data: bytes
    name: str
    media_type: str
    send_as: SendAs
    caption: str = ""


@runtime_checkable
class PostsMedia(Protocol):
    """The capability of a `PlatformClient` that uploads files with the platform's own calls.

    `reconciles_media` says whether its `reconcile` can also settle an interrupted upload (Discord: the
    upload carries the chunk's nonce); otherwise an interrupted upload is unknown and goes out again."""

    reconciles_media: bool

    async def post_media(self, target: ReplyTarget, media: MediaFile, *, first: bool, key: str) -> str:
        """Upload `media` into the target chat; return the platform's message id (errors translated)."""
        ...


@dataclass(frozen=True)
class SendIntent:
    """A chunk egress is about to post (or was posting when it died): its ledger key, the nonce it
    carries and when the first attempt began (where a platform search for it starts)."""

    key: str
    nonce: str
    intended_at: datetime


class Outcome(StrEnum):
    """What a platform says about an interrupted send."""

    SENT = "sent"  # the platform has it: `message_id` is its receipt, do not post again
    NOT_SENT = "not_sent"  # the platform certainly does not have it: post it
    REPEATABLE = "repeatable"  # posting again returns the existing message (an idempotent post)
    UNKNOWN = "unknown"  # the platform cannot tell: posting again may show it twice


@dataclass(frozen=True)
class Reconciled:
    """A reconcile answer: the outcome and, when `SENT`, the platform's message id."""

    outcome: Outcome
    message_id: str = ""


@runtime_checkable
class Reconciles(Protocol):
    """The optional capability of a `PlatformClient` whose platform can settle an interrupted send."""

    async def reconcile(self, target: ReplyTarget, intent: SendIntent, now: datetime) -> Reconciled:
        """Whether the chunk of `intent` reached `target`; raises a classified error when the platform
        cannot be asked now (a retryable one gives the reply back, a permanent one counts as unknown)."""
        ...


class ReplySender(Protocol):
    """Delivers a reply on one platform; idempotent per reply id and part."""

    async def send(self, reply: OutboundReply) -> None: ...


@dataclass(frozen=True)
class SenderDeps:
    """What a channel that writes its own store (WebChat) needs to build its sender."""

    dynamodb: Any  # types_aiobotocore_dynamodb.DynamoDBClient
    prefix: str


@dataclass(frozen=True)
class Outbound(Generic[S]):
    """How a reply goes out: a `PlatformClient` behind egress's chunked sender (`profile` +
    `open_client(cfg, timeout_s)`), or a whole sender of the channel's own (`open_sender`, WebChat)."""

    profile: Profile | None = None
    open_client: Callable[[S, float], AbstractAsyncContextManager[PlatformClient]] | None = None
    open_sender: Callable[[SenderDeps], AbstractAsyncContextManager[ReplySender]] | None = None


@dataclass(frozen=True)
class IdRules:
    """How people write this channel's ids in allowlists and cron targets: extra prefixes besides
    `<channel>:` (`tg:`), and whether a leading `@` is dropped (Telegram usernames)."""

    prefixes: tuple[str, ...] = ()
    strip_at: bool = False
    dm_address: str | None = None  # a user id that is their DM's address (group 1: chat id); Discord: None


@dataclass(frozen=True)
class ChannelSpec(Generic[S]):
    """Everything the stages know about one channel (see the module docstring)."""

    name: str
    settings: Callable[[Settings], S]
    configured: Callable[[S], bool]
    outbound: Outbound[S]
    webhook: Webhook[S] | None = None
    relay: Relay[S] | None = None
    ids: IdRules = IdRules()
    internal: bool = False  # never a last route (WebChat: the owner's own page)
    pairing: bool = True  # unknown senders can ask for a pairing code
    # How the dispatcher fetches the files users send on it (issue 20; None: it cannot).
    media: Callable[[S, MediaDeps], AbstractAsyncContextManager[MediaFetcher]] | None = None

    def enabled(self, settings: Settings) -> bool:
        """Whether the channel is configured in `settings`."""
        return self.configured(self.settings(settings))
