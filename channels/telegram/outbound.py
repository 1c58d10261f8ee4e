"""Telegram through python-telegram-bot's `Bot`: `sendMessage` (HTML parse mode), `sendChatAction`,
`editMessageText` for progress drafts; files as multipart uploads with `sendPhoto`, `sendVoice`,
`sendAudio`, `sendVideo` or `sendDocument`.

`CLAWBUS_TELEGRAM__API_BASE` (default `https://api.telegram.org`) is where the Bot API lives; the bot
token is appended as `<base>/bot<token>/<method>`, as the Bot API (and a local Bot API server) expects.
Errors are translated in `errors.py`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from telegram import Bot, InputFile, Message, ReplyParameters
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest
from telegram.request import HTTPXRequest

from clawbus.bus.errors import ConfigError, PermanentError
from clawbus.bus.settings import TelegramSettings
from clawbus.channels.contracts import MediaFile, SendAs
from clawbus.channels.telegram.errors import map_telegram_errors
from clawbus.channels.telegram.profile import (
    PROFILE as PROFILE,  # where egress and tests have always found it
)
from clawbus.schemas import ReplyTarget

DEFAULT_API_BASE = "https://api.telegram.org"


class TelegramClient:
    """`PlatformClient` (and `Edits`) for the Telegram Bot API. It does not implement `Reconciles`:
    `sendMessage` takes no idempotency key and a bot cannot read a chat back, so an interrupted send is
    unknown (posted again)."""

    reconciles_media = False  # uploads take no idempotency key either

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def post(self, target: ReplyTarget, text: str, *, first: bool, key: str) -> str:
        """`sendMessage` in the target chat (and topic); the first chunk quotes the message it answers."""
        del key  # the Bot API takes no idempotency key
        reply = None
        if first and target.reply_to_message_id and target.reply_to_message_id.isdigit():
            reply = ReplyParameters(int(target.reply_to_message_id), allow_sending_without_reply=True)
        with map_telegram_errors("sendMessage"):
            message = await self._bot.send_message(
                chat_id=target.chat_id,
                text=text,
                parse_mode=ParseMode.HTML,
                message_thread_id=_thread(target),
                reply_parameters=reply,
            )
        return str(message.message_id)

    async def post_media(self, target: ReplyTarget, media: MediaFile, *, first: bool, key: str) -> str:
        """The file as a multipart upload with the call `media.send_as` names, its caption as plain text."""
        del key
        reply = None
        if first and target.reply_to_message_id and target.reply_to_message_id.isdigit():
            reply = ReplyParameters(int(target.reply_to_message_id), allow_sending_without_reply=True)
        upload = InputFile(media.data, filename=media.name)
        calls: dict[SendAs, Callable[..., Awaitable[Message]]] = {
            SendAs.PHOTO: self._bot.send_photo,
            SendAs.VOICE: self._bot.send_voice,
            SendAs.AUDIO: self._bot.send_audio,
            SendAs.VIDEO: self._bot.send_video,
            SendAs.DOCUMENT: self._bot.send_document,
        }
        with map_telegram_errors(f"send{media.send_as.value.capitalize()}"):
            sent: Message = await calls[media.send_as](
                target.chat_id,
                upload,
                caption=media.caption[:1024] or None,  # Telegram's caption limit
                message_thread_id=_thread(target),
                reply_parameters=reply,
            )
        return str(sent.message_id)

    async def edit(self, target: ReplyTarget, message_id: str, text: str) -> None:
        """`editMessageText` (`Edits`); Telegram refuses an edit to the same text ("message is not
        modified"), which here is success: a retried edit lands on a message that already has it."""
        try:
            with map_telegram_errors("editMessageText"):
                try:
                    await self._bot.edit_message_text(
                        text, chat_id=target.chat_id, message_id=int(message_id), parse_mode=ParseMode.HTML
                    )
                except BadRequest as exc:
                    if "message is not modified" not in exc.message.lower():
                        raise
        except ValueError as exc:  # not a Telegram message id: nothing we could ever edit
            raise PermanentError(f"telegram editMessageText: bad message id {message_id!r}") from exc

    async def delete(self, target: ReplyTarget, message_id: str) -> None:
        """`deleteMessage` (`Edits`); a message already gone ("message to delete not found") is deleted."""
        try:
            with map_telegram_errors("deleteMessage"):
                try:
                    await self._bot.delete_message(chat_id=target.chat_id, message_id=int(message_id))
                except BadRequest as exc:
                    if "message to delete not found" not in exc.message.lower():
                        raise
        except ValueError as exc:
            raise PermanentError(f"telegram deleteMessage: bad message id {message_id!r}") from exc

    async def typing(self, target: ReplyTarget) -> None:
        """`sendChatAction` typing (Telegram shows it for about five seconds)."""
        with map_telegram_errors("sendChatAction"):
            await self._bot.send_chat_action(
                chat_id=target.chat_id, action=ChatAction.TYPING, message_thread_id=_thread(target)
            )


def _thread(target: ReplyTarget) -> int | None:
    return int(target.thread_id) if target.thread_id and target.thread_id.isdigit() else None


@contextlib.asynccontextmanager
async def open_telegram(settings: TelegramSettings, timeout_s: float) -> AsyncIterator[TelegramClient]:
    """A `TelegramClient` for the life of the block (the bot checks its token with `getMe` on entry)."""
    if settings.bot_token is None:
        raise ConfigError("telegram egress needs CLAWBUS_TELEGRAM__BOT_TOKEN")
    base = (settings.api_base or DEFAULT_API_BASE).rstrip("/")
    request = HTTPXRequest(connection_pool_size=16, read_timeout=timeout_s, connect_timeout=timeout_s)
    bot = Bot(settings.bot_token.get_secret_value(), base_url=f"{base}/bot", request=request)
    with map_telegram_errors("getMe"):
        await bot.initialize()
    try:
        yield TelegramClient(bot)
    finally:
        await bot.shutdown()
