"""Discord through its REST API (httpx): channel messages, interaction follow-ups, typing, and the edits
and deletes of progress drafts.

`CLAWBUS_DISCORD__API_BASE` (default `https://discord.com/api/v10`) is the versioned REST base. A reply
to a deferred slash command (ingress answered the interaction with type 5, and Discord shows "thinking…")
carries the interaction's token in its target (`target.interaction_token`, an extra field of
`ReplyTarget`). Its first chunk takes the place of the "thinking…" placeholder: `PATCH
/webhooks/<application id>/<token>/messages/@original`, an edit, so sending it again shows it once; later
chunks are follow-ups `POST /webhooks/<application id>/<token>?wait=true`. Neither needs a bot
permission in the channel. Everything else is `POST /channels/<id>/messages` with a `nonce` derived from
the chunk's ledger key and `enforce_nonce`, so Discord itself answers a repeat within a few minutes with
the message it already has. That is how an interrupted send is reconciled (`reconcile`: repeatable for
the first chunk of an interaction's answer and for channel messages). Follow-ups (Execute Webhook) take no
nonce: an interrupted follow-up is unknown and is posted again.

An interaction's token lives 15 minutes, and only if Discord got the 3 s acknowledgement: after a turn
longer than that, or when ingress's answer came too late (the user saw "The application did not
respond"), Discord answers the follow-up with Unknown Webhook / Invalid Webhook Token. The answer then
goes to the interaction's channel as an ordinary message (nonce and all), so it still reaches its user.

Progress drafts (`Edits`, with `CLAWBUS_DISCORD__STREAMING=progress`): a turn's draft is posted like a
reply's first chunk, so for a slash command it replaces the "thinking…" placeholder (`@original`) and in
a channel it is a message with its own nonce; `edit` PATCHes the message's content and `delete` DELETEs
it, through the interaction's webhook (`/webhooks/<application id>/<token>/messages/<id>`) while its token
lives, else in the channel (`/channels/<id>/messages/<id>`). A message already deleted (Unknown Message,
code 10008) counts as deleted; an edit Discord refuses is a `TargetGone`, and egress posts the answer
instead, once.

Files go in the same calls as multipart: `payload_json` (the message, with its nonce and an
`attachments` entry) beside `files[0]`; Discord shows images inline, so every file is one attachment.
Discord caps a bot's upload at 10 MiB (without server boosts).

Rate limits: Discord announces each route bucket's state in headers. When a response says the bucket
is spent (`X-RateLimit-Remaining: 0`), the next call to that channel raises `Throttled` for the
`X-RateLimit-Reset-After` that is left, before calling, so the sender waits (or gives the reply back)
instead of collecting a 429; a global 429 holds every channel.

Errors: 429 (JSON `retry_after`, or the `Retry-After` header) → `Throttled`; 401 → `Unauthorized`;
403/404 (missing access, unknown channel, cannot DM this user) → `TargetGone`; 5xx → `Unavailable`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx

from clawbus.bus.errors import (
    ConfigError,
    DeadlineExceeded,
    PermanentError,
    TargetGone,
    Throttled,
    Unauthorized,
    Unavailable,
)
from clawbus.bus.logging import log_event
from clawbus.bus.settings import DiscordSettings
from clawbus.channels.chunk_keys import opens_draft, opens_reply, send_nonce
from clawbus.channels.contracts import (
    MediaFile,
    Outcome,
    Reconciled,
    SendIntent,
)
from clawbus.channels.discord.profile import PROFILE as PROFILE  # where egress and tests have always found it
from clawbus.schemas import ReplyTarget

DEFAULT_API_BASE = "https://discord.com/api/v10"
_USER_AGENT = "DiscordBot (https://github.com/clawbus/clawbus, 0.1)"
_GLOBAL = "global"
_log = logging.getLogger(__name__)
# `enforce_nonce`: "the past few minutes" (Discord's Create Message docs); trust two of them.
NONCE_WINDOW = timedelta(minutes=2)
# Unknown Webhook, Unknown Interaction, Invalid Webhook Token: the interaction's token is no longer usable.
INTERACTION_GONE_CODES = frozenset({10015, 10062, 50027})
UNKNOWN_MESSAGE = 10008  # the message to edit or delete does not exist (deleted)


def quiet_for(status: int, headers: Mapping[str, str], body: Mapping[str, Any]) -> tuple[str, float] | None:
    """From one response: which bucket must stay quiet (`"route"` or `"global"`) and for how long."""
    if status == 429 and body.get("global"):
        return _GLOBAL, float(body.get("retry_after") or headers.get("retry-after") or 1.0)
    if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset-after"):
        return "route", float(headers["x-ratelimit-reset-after"])
    return None


class InteractionGone(TargetGone):
    """The interaction's token expired or was never acknowledged in time: its follow-up cannot be sent."""


class MessageGone(TargetGone):
    """The message to edit or delete does not exist (any more)."""


def _failure(response: httpx.Response, what: str) -> Exception:
    status = response.status_code
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        body = {}
    message = body.get("message", response.reason_phrase)
    detail = f"discord {what}: {message} ({status}, code {body.get('code')})"
    if status == 429:
        retry_after = float(body.get("retry_after") or response.headers.get("Retry-After") or 1.0)
        return Throttled(detail, retry_after=retry_after)
    if status in (401, 404) and body.get("code") in INTERACTION_GONE_CODES:
        return InteractionGone(detail)
    if status == 404 and body.get("code") == UNKNOWN_MESSAGE:
        return MessageGone(detail)
    if status == 401:
        return Unauthorized(f"{detail} — check CLAWBUS_DISCORD__BOT_TOKEN")
    if status in (403, 404):
        return TargetGone(detail)
    if status >= 500:
        return Unavailable(detail)
    return PermanentError(detail)


@contextlib.contextmanager
def map_httpx_errors(what: str) -> Iterator[None]:
    """Translate httpx transport errors raised in the block into clawbus errors."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise DeadlineExceeded(f"discord {what}: timed out") from exc
    except httpx.TransportError as exc:
        raise Unavailable(f"discord {what}: {type(exc).__name__}") from exc


class DiscordClient:
    """`PlatformClient` for the Discord REST API."""

    reconciles_media = True  # an upload carries the chunk's nonce like a text message

    def __init__(self, http: httpx.AsyncClient, application_id: str | None) -> None:
        self._http = http
        self._application_id = application_id
        self._quiet_until: dict[str, float] = {}  # bucket (a path, or "global") → monotonic deadline

    async def _call(
        self,
        what: str,
        path: str,
        payload: dict[str, Any] | None = None,
        file: MediaFile | None = None,
        *,
        method: str = "POST",
    ) -> dict[str, Any]:
        now = time.monotonic()
        wait = max(self._quiet_until.get(path, 0.0), self._quiet_until.get(_GLOBAL, 0.0)) - now
        if wait > 0:
            raise Throttled(
                f"discord {what}: rate-limit bucket spent, resets in {wait:.2f}s", retry_after=wait
            )
        with map_httpx_errors(what):
            if file is None:
                response = await self._http.request(method, path, json=payload)
            else:
                response = await self._http.request(
                    method,
                    path,
                    data={"payload_json": json.dumps(payload)},
                    files={"files[0]": (file.name, file.data, file.media_type)},
                )
        self._note_limits(path, response)
        if response.status_code >= 400:
            raise _failure(response, what)
        if response.status_code == 204 or not response.content:
            return {}
        result: dict[str, Any] = response.json()
        return result

    def _note_limits(self, path: str, response: httpx.Response) -> None:
        try:
            body = response.json() if response.status_code == 429 else {}
        except ValueError:
            body = {}
        quiet = quiet_for(response.status_code, response.headers, body if isinstance(body, dict) else {})
        if quiet is not None:
            bucket, seconds = quiet
            self._quiet_until[_GLOBAL if bucket == _GLOBAL else path] = time.monotonic() + seconds

    async def post(self, target: ReplyTarget, text: str, *, first: bool, key: str) -> str:
        """The interaction's response when the target has its token (its first chunk edits the deferred
        placeholder, later ones follow up), else a channel message."""
        return await self._send(target, text, first=first, key=key)

    async def post_media(self, target: ReplyTarget, media: MediaFile, *, first: bool, key: str) -> str:
        """The file as a multipart message (or follow-up), its caption as the message's content."""
        return await self._send(target, media.caption[:2000], first=first, key=key, file=media)

    async def _send(
        self, target: ReplyTarget, text: str, *, first: bool, key: str, file: MediaFile | None = None
    ) -> str:
        attachments = [{"id": 0, "filename": file.name}] if file is not None else None
        hook = self._hook(target)
        if hook:
            content: dict[str, Any] = {"content": text}
            if attachments:
                content["attachments"] = attachments
            try:
                if (opens_reply(key) or opens_draft(key)) and file is None:
                    edited = await self._call(
                        "edit interaction response", f"{hook}/messages/@original", content, method="PATCH"
                    )
                    return str(edited["id"])
                followup = await self._call("interaction follow-up", f"{hook}?wait=true", content, file)
                return str(followup["id"])
            except InteractionGone as exc:
                log_event(_log, "egress.discord.interaction_gone", level=logging.WARNING, detail=str(exc))
        payload: dict[str, Any] = {
            "content": text,
            "nonce": send_nonce(key),  # Discord caps nonces at 25 chars
            "enforce_nonce": True,
            "allowed_mentions": {"parse": ["users"]},
        }
        if first and target.reply_to_message_id:
            payload["message_reference"] = {
                "message_id": target.reply_to_message_id,
                "fail_if_not_exists": False,
            }
        if attachments:
            payload["attachments"] = attachments
        channel = target.thread_id or target.chat_id  # a thread is a channel of its own
        path = f"/channels/{channel}/messages"
        return str((await self._call("create message", path, payload, file))["id"])

    async def reconcile(self, target: ReplyTarget, intent: SendIntent, now: datetime) -> Reconciled:
        """`REPEATABLE` for the first chunk of an interaction's answer (an edit of its placeholder:
        made again, it shows once) and for a channel message whose nonce Discord still enforces
        (posting it again returns the message the lost 200 carried), else `UNKNOWN`: later follow-ups
        (Execute Webhook) take no nonce, and Discord keeps a nonce only for a few minutes."""
        if (target.model_extra or {}).get("interaction_token"):
            repeatable = opens_reply(intent.key)
            return Reconciled(Outcome.REPEATABLE if repeatable else Outcome.UNKNOWN)
        if now - intent.intended_at < NONCE_WINDOW:
            return Reconciled(Outcome.REPEATABLE)
        return Reconciled(Outcome.UNKNOWN)

    def _hook(self, target: ReplyTarget) -> str | None:
        """The interaction's webhook path when the target carries its token, else None."""
        token = (target.model_extra or {}).get("interaction_token")
        if not token:
            return None
        if not self._application_id:
            raise ConfigError("discord follow-ups need CLAWBUS_DISCORD__APPLICATION_ID")
        return f"/webhooks/{self._application_id}/{token}"

    def _message_paths(self, target: ReplyTarget, message_id: str) -> list[tuple[str, str]]:
        """Where the bot's message `message_id` is edited or deleted: through the interaction's webhook
        while its token lives (the placeholder and follow-ups are the webhook's messages), then in the
        channel (a message of the bot's own, or one posted after the token expired)."""
        if not message_id.isdigit():  # a snowflake; anything else names no message of ours
            raise PermanentError(f"discord: bad message id {message_id!r}")
        channel = target.thread_id or target.chat_id
        paths = [("channel message", f"/channels/{channel}/messages/{message_id}")]
        hook = self._hook(target)
        return [("interaction message", f"{hook}/messages/{message_id}"), *paths] if hook else paths

    async def edit(self, target: ReplyTarget, message_id: str, text: str) -> None:
        """`PATCH` the message's content (`Edits`, progress drafts); Discord accepts an edit to the text
        the message already has. A 429 raises `Throttled` with Discord's `retry_after`."""
        await self._on_message("edit", target, message_id, {"content": text})

    async def delete(self, target: ReplyTarget, message_id: str) -> None:
        """`DELETE` the message (`Edits`: a turn that ended silent); one already gone counts as deleted."""
        try:
            await self._on_message("delete", target, message_id, None)
        except MessageGone:
            return

    async def _on_message(
        self, verb: str, target: ReplyTarget, message_id: str, payload: dict[str, Any] | None
    ) -> None:
        """Edit (`payload`) or delete (None) the message: through the interaction's webhook while its
        token lives, else in the channel (`_message_paths`)."""
        method = "PATCH" if payload is not None else "DELETE"
        for where, path in self._message_paths(target, message_id):
            try:
                await self._call(f"{verb} {where}", path, payload, method=method)
            except InteractionGone as exc:  # the token expired: the channel's path is next
                log_event(_log, "egress.discord.interaction_gone", level=logging.WARNING, detail=str(exc))
            else:
                return
        raise TargetGone(f"discord {verb}: message {message_id} is out of reach")

    async def typing(self, target: ReplyTarget) -> None:
        """`POST /channels/<id>/typing` (shows for about ten seconds)."""
        await self._call("trigger typing", f"/channels/{target.thread_id or target.chat_id}/typing")


@contextlib.asynccontextmanager
async def open_discord(settings: DiscordSettings, timeout_s: float) -> AsyncIterator[DiscordClient]:
    """A `DiscordClient` with its own connection pool for the life of the block."""
    if settings.bot_token is None:
        raise ConfigError("discord egress needs CLAWBUS_DISCORD__BOT_TOKEN")
    headers = {
        "Authorization": f"Bot {settings.bot_token.get_secret_value()}",
        "User-Agent": _USER_AGENT,
    }
    base = (settings.api_base or DEFAULT_API_BASE).rstrip("/")
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=timeout_s) as http:
        yield DiscordClient(http, settings.application_id)
