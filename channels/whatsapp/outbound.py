"""WhatsApp Cloud API through pywa (the library ingress uses): text messages and the typing indicator;
files uploaded to `/<phone number id>/media` first, then sent as a message naming the media id.

`CLAWBUS_WHATSAPP__API_BASE` (default `https://graph.facebook.com`) and `CLAWBUS_WHATSAPP__API_VERSION`
make the Graph API base `<api base>/v<version>`; messages go to `/<phone number id>/messages`.

Free-form text reaches a user only within 24 hours of their last message; outside that window the Cloud
API refuses with error 131047, which becomes `ConversationWindowClosed` — a permanent error whose
dead-letter reason says what happened and what to do.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import httpx
from pywa.errors import (
    AuthorizationError,
    MessageUndeliverable,
    RecipientNotInAllowedList,
    ReEngagementMessage,
    ThrottlingError,
    WhatsAppError,
)
from pywa_async.client import WhatsApp

from clawbus.bus.errors import (
    ConfigError,
    DeadlineExceeded,
    PermanentError,
    TargetGone,
    Throttled,
    Unauthorized,
    Unavailable,
)
from clawbus.bus.settings import WhatsappSettings
from clawbus.channels.contracts import MediaFile, SendAs
from clawbus.channels.whatsapp.profile import (
    PROFILE as PROFILE,  # where egress and tests have always found it
)
from clawbus.schemas import ReplyTarget

DEFAULT_API_BASE = "https://graph.facebook.com"


class ConversationWindowClosed(PermanentError):
    """WhatsApp's 24-hour customer-service window is closed: free-form text cannot be sent (131047)."""


@contextlib.contextmanager
def map_whatsapp_errors(what: str) -> Iterator[None]:
    """Translate pywa and httpx errors raised in the block into clawbus errors."""
    try:
        yield
    except ReEngagementMessage as exc:
        raise ConversationWindowClosed(
            f"whatsapp {what}: error 131047 — more than 24 hours since the user's last message, so "
            "free-form text is refused; the reply can go out after they write again, or as an approved "
            "template message"
        ) from exc
    except ThrottlingError as exc:
        raise Throttled(f"whatsapp {what}: rate limited (error {exc.code})") from exc
    except AuthorizationError as exc:
        raise Unauthorized(
            f"whatsapp {what}: error {exc.code} — check CLAWBUS_WHATSAPP__ACCESS_TOKEN and its permissions"
        ) from exc
    except (RecipientNotInAllowedList, MessageUndeliverable) as exc:
        raise TargetGone(f"whatsapp {what}: error {exc.code} (the message cannot reach this user)") from exc
    except WhatsAppError as exc:
        status = exc.raw_response.status_code if exc.raw_response is not None else 0
        if exc.is_transient or status >= 500:
            raise Unavailable(f"whatsapp {what}: error {exc.code} ({status})") from exc
        raise PermanentError(f"whatsapp {what}: error {exc.code} ({status})") from exc
    except httpx.TimeoutException as exc:
        raise DeadlineExceeded(f"whatsapp {what}: timed out") from exc
    except (httpx.TransportError, ValueError, KeyError) as exc:  # ValueError/KeyError: not a Graph reply
        raise Unavailable(f"whatsapp {what}: {type(exc).__name__}") from exc


class WhatsappClient:
    """`PlatformClient` for the WhatsApp Cloud API. It does not implement `Reconciles`: `/messages` takes no
    idempotency key and nothing lists sent messages, so an interrupted send is unknown (posted again)."""

    reconciles_media = False

    def __init__(self, wa: WhatsApp) -> None:
        self._wa = wa

    async def post(self, target: ReplyTarget, text: str, *, first: bool, key: str) -> str:
        """A text message to the user; the first chunk quotes the message it answers."""
        del key  # the Cloud API takes no idempotency key
        reply_to = target.reply_to_message_id if first else None
        with map_whatsapp_errors("send text"):
            sent = await self._wa.send_message(to=target.chat_id, text=text, reply_to_message_id=reply_to)
        return str(sent.id)

    async def post_media(self, target: ReplyTarget, media: MediaFile, *, first: bool, key: str) -> str:
        """Upload the file (`/media`), then send the message kind `media.send_as` names with its id."""
        del key
        reply_to = target.reply_to_message_id if first else None
        caption = media.caption[:1024] or None
        to = target.chat_id
        with map_whatsapp_errors("upload media"):
            uploaded = await self._wa.upload_media(
                media.data, mime_type=media.media_type, filename=media.name
            )
        with map_whatsapp_errors(f"send {media.send_as.value}"):
            if media.send_as is SendAs.PHOTO:
                sent = await self._wa.send_image(to, uploaded, caption, reply_to_message_id=reply_to)
            elif media.send_as is SendAs.VIDEO:
                sent = await self._wa.send_video(to, uploaded, caption, reply_to_message_id=reply_to)
            elif media.send_as in (SendAs.VOICE, SendAs.AUDIO):  # audio messages carry no caption
                voice = media.send_as is SendAs.VOICE
                sent = await self._wa.send_audio(to, uploaded, is_voice=voice, reply_to_message_id=reply_to)
            else:
                sent = await self._wa.send_document(
                    to, uploaded, media.name, caption, reply_to_message_id=reply_to
                )
        return str(sent.id)

    async def typing(self, target: ReplyTarget) -> None:
        """The typing indicator, which the Cloud API ties to the user's message (marked read with it)."""
        if not target.reply_to_message_id:
            return
        with map_whatsapp_errors("typing indicator"):
            await self._wa.indicate_typing(message_id=target.reply_to_message_id)


@contextlib.asynccontextmanager
async def open_whatsapp(settings: WhatsappSettings, timeout_s: float) -> AsyncIterator[WhatsappClient]:
    """A `WhatsappClient` with its own HTTP session for the life of the block."""
    if settings.access_token is None or not settings.phone_number_id:
        raise ConfigError(
            "whatsapp egress needs CLAWBUS_WHATSAPP__ACCESS_TOKEN and CLAWBUS_WHATSAPP__PHONE_NUMBER_ID"
        )
    async with httpx.AsyncClient(timeout=timeout_s) as session:
        wa = WhatsApp(
            phone_id=settings.phone_number_id,
            token=settings.access_token.get_secret_value(),
            session=session,
            api_version=settings.api_version,
        )
        # pywa points our session at graph.facebook.com; the session is ours, so point it at the base.
        base = (settings.api_base or DEFAULT_API_BASE).rstrip("/")
        session.base_url = httpx.URL(f"{base}/v{settings.api_version}")
        yield WhatsappClient(wa)
