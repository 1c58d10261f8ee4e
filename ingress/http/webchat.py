"""WebChat's HTTP API: post a message (onto the inbound queue), long-poll the conversation's replies.

- `POST /webchat/api/messages` `{conversation, text, client_message_id?}` → 202 `{event_id}`
- `GET /webchat/api/conversations/{id}/messages?after=<cursor>&wait=<s>` → `{messages: [...], cursor}`,
  answered as soon as a reply newer than `after` exists, or empty after `wait` seconds (at most the
  configured maximum).

Both run behind `access.RequireToken`, so the caller holds the run's token and is the owner
(`Access.OWNER`); `CLAWBUS_WEBCHAT__DM_POLICY=disabled` still refuses their messages (403). A
conversation belongs to the token that posted its first message (`WebchatHistory.claim`): another token
gets 403 for it, on post and on read. 403 rather than 404: reading a conversation nobody has posted to
yet answers an empty page (the page polls before it first posts), so a 404 would hide nothing, and 403
tells the client to start a conversation of its own. Long polls are bounded in number (`PollSlots`):
one that finds no slot gets 429 with `Retry-After`.

A posted message goes through the `/link` step every channel's DMs go through (`ingress/linking.py`):
`/link` is answered in the conversation and never reaches the agent, and a conversation linked to
another account (dmScope not `main`) is re-keyed to that person's session before it is enqueued.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from opentelemetry import trace
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from clawbus.bus.clock import utc_now
from clawbus.bus.errors import ClawbusError, RetryableError
from clawbus.bus.http_body import BodyTooLarge, read_capped
from clawbus.bus.logging import log_event, session_ref
from clawbus.bus.settings import Settings
from clawbus.bus.tracing import tracer
from clawbus.ingress.core import WebchatMessageIn, normalise
from clawbus.ingress.http.long_poll import PollSlots
from clawbus.ingress.linking import Linker
from clawbus.ingress.publisher import InboundPublisher
from clawbus.storage.webchat import WebchatHistory, WebchatPart

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

logger = logging.getLogger(__name__)
_tracer = tracer(__name__)
_POLL_INTERVAL_S = 0.2
_CONVERSATION = re.compile(r"[A-Za-z0-9_-]{1,64}")
_RETRY_POLL_S = 1
CHANNEL = "webchat"


def error(status: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """A JSON error body that says what was wrong."""
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


def _message(part: WebchatPart) -> dict[str, Any]:
    """A part as the page reads it; a file part names where to fetch the file (`webchat_media.py`)."""
    found: dict[str, Any] = {
        "seq": part.seq,
        "reply_id": part.reply_id,
        "in_reply_to": list(part.in_reply_to),
        "text": part.text,
    }
    if part.media_key:
        query = urlencode({"type": part.media_type, "name": part.media_name})
        url = f"/webchat/api/media/{part.media_key}?{query}"
        found["media"] = {"url": url, "type": part.media_type, "name": part.media_name}
    return found


def _foreign(conversation: str) -> JSONResponse:
    return error(
        403,
        f"conversation {conversation} belongs to another WebChat token (the token was rotated?); "
        "start a new conversation",
        new_conversation=True,
    )


async def read_json(request: Request, limit: int) -> Any | Response:
    """The request's JSON body, or the 4xx response to send instead."""
    if "application/json" not in request.headers.get("content-type", ""):
        return error(415, "send the body as JSON with Content-Type: application/json")
    try:
        body = await read_capped(request, limit)
    except BodyTooLarge:
        return error(413, f"body over {limit} bytes")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return error(400, f"malformed JSON: {exc}")
    except RecursionError:  # nesting deeper than the parser goes: hostile, not a 500
        return error(400, "malformed JSON: nested too deeply")


@dataclass
class WebchatApi:
    """The two WebChat endpoints, over the inbound publisher and the WebChat table."""

    settings: Settings
    publisher: InboundPublisher
    dynamodb: DynamoDBClient
    table: str
    linker: Linker | None = None  # `/link` and linked senders' keys, as on every channel (ingress/linking.py)

    def __post_init__(self) -> None:
        self._history = WebchatHistory.on_dynamodb(self.dynamodb, self.table)
        ingress = self.settings.ingress
        self._slots = PollSlots(ingress.webchat_polls_per_client, ingress.webchat_polls_max)

    async def post_message(self, request: Request) -> Response:
        """Enqueue a message typed in WebChat, in an `ingress.receive` span every later hop joins."""
        with _tracer.start_as_current_span("ingress.receive", kind=trace.SpanKind.SERVER) as span:
            span.set_attribute("url.path", request.url.path)
            answer = await self._post_message(request)
            span.set_attribute("http.response.status_code", answer.status_code)
            return answer

    async def _post_message(self, request: Request) -> Response:
        if self.settings.webchat.dm_policy == "disabled":
            log_event(logger, "ingress.event.refused", channel="webchat", reason="dm_policy disabled")
            return error(403, "WebChat messages are turned off (CLAWBUS_WEBCHAT__DM_POLICY=disabled)")
        data = await read_json(request, self.settings.ingress.max_body_bytes)
        if isinstance(data, Response):
            return data
        try:
            message = WebchatMessageIn.model_validate(data)
        except ValidationError as exc:
            fields = [".".join(str(p) for p in e["loc"]) or "<body>" for e in exc.errors()]
            return error(422, "invalid WebChat message", fields=fields)
        try:
            mine = await self._history.claim(message.conversation, request.state.webchat_client)
        except ClawbusError as exc:
            log_event(logger, "ingress.webchat.read_failed", logging.WARNING, reason=str(exc))
            return error(503, "the conversation cannot be checked right now; retry shortly", retry=True)
        if not mine:
            log_event(
                logger, "ingress.event.refused", channel="webchat", reason="conversation of another token"
            )
            return _foreign(message.conversation)
        event = normalise(
            message,
            agent_id=self.settings.session.agent_id,
            dm_scope=self.settings.session.dm_scope,
            now=datetime.now(UTC),
        )
        try:
            if self.linker is not None:
                if await self.linker.handle(CHANNEL, event):
                    return JSONResponse({"event_id": event.event_id}, status_code=202)
                event = await self.linker.resolve(CHANNEL, event)
            await self.publisher.publish(event)
        except RetryableError as exc:
            log_event(logger, "ingress.enqueue.failed", logging.WARNING, channel="webchat", reason=str(exc))
            return error(503, "the inbound queue is unavailable; retry shortly", retry=True)
        except ClawbusError as exc:
            log_event(logger, "ingress.enqueue.failed", logging.ERROR, channel="webchat", reason=str(exc))
            return error(503, "the inbound queue cannot be reached; check the deployment", retry=False)
        log_event(
            logger,
            "ingress.event.accepted",
            channel="webchat",
            event_id=event.event_id,
            session=session_ref(event.session_key),
        )
        return JSONResponse({"event_id": event.event_id}, status_code=202)

    async def get_messages(self, request: Request) -> Response:
        """Replies in a conversation after a cursor, waiting for one up to `wait` seconds."""
        conversation = request.path_params["conversation"]
        if not _CONVERSATION.fullmatch(conversation):
            return error(400, "a conversation id is 1-64 letters, digits, '-' or '_'")
        after = request.query_params.get("after", "")
        try:
            wait = min(float(request.query_params.get("wait", "0")), self.settings.ingress.webchat_wait_max_s)
        except ValueError:
            return error(400, "wait must be a number of seconds")
        client: str = request.state.webchat_client
        with self._slots.hold(f"{client}:{conversation}") if wait > 0 else nullcontext(True) as held:
            if not held:
                log_event(logger, "ingress.webchat.poll_refused", logging.WARNING, channel="webchat")
                return error(
                    429,
                    "too many open long polls; retry shortly",
                    headers={"Retry-After": str(_RETRY_POLL_S)},
                    retry=True,
                )
            return await self._wait_for_parts(request, client, conversation, after, wait)

    async def _wait_for_parts(
        self, request: Request, client: str, conversation: str, after: str, wait: float
    ) -> Response:
        deadline = time.monotonic() + max(0.0, wait)
        owner: str | None = None
        while True:
            try:
                owner = owner or await self._history.owner(conversation)
                parts = (
                    await self._history.after(conversation, after, now=utc_now()) if owner == client else []
                )
            except ClawbusError as exc:
                log_event(logger, "ingress.webchat.read_failed", logging.WARNING, reason=str(exc))
                return error(503, "replies cannot be read right now; retry shortly", retry=True)
            if owner not in (None, client):
                return _foreign(conversation)
            if parts or time.monotonic() >= deadline or await request.is_disconnected():
                break
            await asyncio.sleep(_POLL_INTERVAL_S)
        messages = [_message(p) for p in parts]
        cursor = messages[-1]["seq"] if messages else after
        return JSONResponse({"messages": messages, "cursor": cursor})
