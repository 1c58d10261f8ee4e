"""Slack through slack_sdk's `AsyncWebClient`: `chat.postMessage` (in the thread), `chat.update` for
progress drafts, and the assistant thread status as the typing indicator; files with upload v2
(`files_upload_v2`: `files.getUploadURLExternal`, the upload, then `files.completeUploadExternal` shares it
in the chat).

`CLAWBUS_SLACK__API_BASE` (default `https://slack.com/api/`) is the Web API's base URL. Slack answers
errors as HTTP 200 with `ok: false` and an `error` code, except rate limits (HTTP 429 with a
`Retry-After` header); `map_slack_errors` turns both into clawbus errors.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from clawbus.bus.errors import (
    ConfigError,
    DeadlineExceeded,
    PermanentError,
    TargetGone,
    Throttled,
    Unauthorized,
    Unavailable,
)
from clawbus.bus.settings import SlackSettings
from clawbus.channels.chunk_keys import send_nonce
from clawbus.channels.contracts import (
    MediaFile,
    Outcome,
    Reconciled,
    SendIntent,
)
from clawbus.channels.slack.profile import PROFILE as PROFILE  # where egress and tests have always found it
from clawbus.schemas import ReplyTarget

DEFAULT_API_BASE = "https://slack.com/api/"
CHUNK_EVENT_TYPE = "clawbus_chunk"  # the metadata event type every chunk is posted with
_CLOCK_SKEW = timedelta(seconds=60)  # search from this long before the intent: our clock vs Slack's
_PAGE = 100
_MAX_PAGES = 5  # a busier conversation than this since the intent: cannot tell
_GONE = {"channel_not_found", "is_archived", "not_in_channel", "account_inactive", "user_not_found"}
_DENIED = {"invalid_auth", "not_authed", "token_revoked", "token_expired", "missing_scope", "no_permission"}
_TRANSIENT = {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}


def _api_error(exc: SlackApiError, what: str) -> Exception:
    status = exc.response.status_code
    code = str(exc.response.get("error", "unknown_error"))
    if status == 429 or code == "ratelimited":
        headers = {name.lower(): value for name, value in exc.response.headers.items()}
        retry_after = float(headers.get("retry-after", 1))
        return Throttled(f"slack {what}: rate limited (retry {retry_after:g}s)", retry_after=retry_after)
    if code in _GONE:
        return TargetGone(f"slack {what}: {code} (the bot cannot post in this channel)")
    if code in _DENIED:
        return Unauthorized(f"slack {what}: {code} — check CLAWBUS_SLACK__BOT_TOKEN and the app's scopes")
    if status >= 500 or code in _TRANSIENT:
        return Unavailable(f"slack {what}: {code} ({status})")
    return PermanentError(f"slack {what}: {code} ({status})")


@contextlib.contextmanager
def map_slack_errors(what: str) -> Iterator[None]:
    """Translate slack_sdk and aiohttp errors raised in the block into clawbus errors."""
    try:
        yield
    except SlackApiError as exc:
        raise _api_error(exc, what) from exc
    except TimeoutError as exc:
        raise DeadlineExceeded(f"slack {what}: timed out") from exc
    except (SlackClientError, aiohttp.ClientError) as exc:
        raise Unavailable(f"slack {what}: {type(exc).__name__}") from exc


class SlackClient:
    """`PlatformClient` for the Slack Web API, which `Reconciles` interrupted sends.

    Slack takes no idempotency key, but a message carries app metadata (`metadata`: `event_type` +
    `event_payload`) and the bot can read the conversation back: every chunk is posted with its nonce
    in metadata, and an interrupted send is looked up in `conversations.history` (or, in a thread,
    `conversations.replies`) from the intent's time on, `include_all_metadata=true`.
    """

    reconciles_media = False  # a shared file carries no app metadata to find it by

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def post(self, target: ReplyTarget, text: str, *, first: bool, key: str) -> str:
        """`chat.postMessage` in the channel, threaded under `thread_id` when the event had a thread."""
        del first  # Slack threads by `thread_ts`
        metadata = {"event_type": CHUNK_EVENT_TYPE, "event_payload": {"nonce": send_nonce(key)}}
        with map_slack_errors("chat.postMessage"):
            response = await self._client.chat_postMessage(
                channel=target.chat_id,
                text=text,
                thread_ts=target.thread_id,
                mrkdwn=True,
                metadata=metadata,
            )
        return str(response.get("ts", ""))

    async def post_media(self, target: ReplyTarget, media: MediaFile, *, first: bool, key: str) -> str:
        """Upload v2 into the channel (in the thread), the caption as its comment; the file's id."""
        del first, key
        with map_slack_errors("files upload v2"):
            response = await self._client.files_upload_v2(
                channel=target.chat_id,
                thread_ts=target.thread_id,
                file=media.data,
                filename=media.name,
                title=media.name,
                initial_comment=media.caption or None,
            )
        files = response.get("files") or [{}]
        return str(files[0].get("id", ""))

    async def reconcile(self, target: ReplyTarget, intent: SendIntent, now: datetime) -> Reconciled:
        """`SENT` with the message's ts when a message since the intent carries its nonce, else
        `NOT_SENT`; `UNKNOWN` past `_MAX_PAGES` pages. Needs the `*:history` scopes; Slack refuses
        `conversations.replies` to bot tokens in public and private channels (a permanent error)."""
        del now
        oldest = f"{(intent.intended_at - _CLOCK_SKEW).timestamp():.6f}"
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            with map_slack_errors("conversations history"):
                if target.thread_id:
                    page = await self._client.conversations_replies(
                        channel=target.chat_id,
                        ts=target.thread_id,
                        oldest=oldest,
                        include_all_metadata=True,
                        limit=_PAGE,
                        cursor=cursor,
                    )
                else:
                    page = await self._client.conversations_history(
                        channel=target.chat_id,
                        oldest=oldest,
                        include_all_metadata=True,
                        limit=_PAGE,
                        cursor=cursor,
                    )
            for message in page.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == CHUNK_EVENT_TYPE and payload.get("nonce") == intent.nonce:
                    return Reconciled(Outcome.SENT, str(message.get("ts", "")))
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not page.get("has_more") or cursor is None:
                return Reconciled(Outcome.NOT_SENT)
        return Reconciled(Outcome.UNKNOWN)

    async def edit(self, target: ReplyTarget, message_id: str, text: str) -> None:
        """`chat.update` of the bot's message `message_id` (its ts) in the channel (`Edits`); Slack rate
        limits it in Tier 3 (about 50 a minute), a 429 comes back as `Throttled` with `Retry-After`."""
        with map_slack_errors("chat.update"):
            await self._client.chat_update(channel=target.chat_id, ts=message_id, text=text)

    async def delete(self, target: ReplyTarget, message_id: str) -> None:
        """`chat.delete` of the bot's message `message_id` (its ts) (`Edits`); `message_not_found` is done."""
        try:
            with map_slack_errors("chat.delete"):
                await self._client.chat_delete(channel=target.chat_id, ts=message_id)
        except PermanentError as exc:
            if "message_not_found" not in str(exc):
                raise

    async def typing(self, target: ReplyTarget) -> None:
        """`assistant.threads.setStatus` ("is typing…"); bots have no typing indicator outside threads."""
        if not target.thread_id:
            return
        with map_slack_errors("assistant.threads.setStatus"):
            await self._client.assistant_threads_setStatus(
                channel_id=target.chat_id, thread_ts=target.thread_id, status="is typing..."
            )


@contextlib.asynccontextmanager
async def open_slack(settings: SlackSettings, timeout_s: float) -> AsyncIterator[SlackClient]:
    """A `SlackClient` with its own HTTP session for the life of the block."""
    if settings.bot_token is None:
        raise ConfigError("slack egress needs CLAWBUS_SLACK__BOT_TOKEN")
    base = (settings.api_base or DEFAULT_API_BASE).rstrip("/") + "/"
    # slack_sdk applies its `timeout` only to sessions it makes itself: ours carries the timeout.
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session:
        yield SlackClient(
            AsyncWebClient(
                token=settings.bot_token.get_secret_value(),
                base_url=base,
                session=session,
                timeout=int(timeout_s),
            )
        )
