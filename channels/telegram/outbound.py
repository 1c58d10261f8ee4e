"""Telegram through python-telegram-bot's `Bot`: `sendMessage` (HTML parse mode), `sendChatAction`,
`editMessageText` for progress drafts; files as multipart uploads with `sendPhoto`, `sendVoice`,
`sendAudio`, `sendVideo` or `sendDocument`.

`CLAWBUS_TELEGRAM__API_BASE` (default `https://api.telegram.org`) is where the Bot API lives; the bot
token is appended as `<base>/bot<token>/<method>`, as the Bot API (and a local Bot API server) expects.
Errors are translated in `errors.py`.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import AsyncIterator, Awaitable, Callable

from telegram import Bot, InputFile, Message, ReplyParameters
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest
from telegram.request import HTTPXRequest

from clawbus.bus.errors import ConfigError, PermanentError
from clawbus.bus.settings import TelegramSettings
from clawbus.channels.contracts import MB, Limit, MediaCaps, MediaFile, Profile, Scopes, SendAs, utf16_length
from clawbus.channels.telegram.errors import map_telegram_errors
from clawbus.channels.text_style import TextStyle
from clawbus.schemas import ReplyTarget

DEFAULT_API_BASE = "https://api.telegram.org"


def _html(text: str) -> str:
    return html.escape(text, quote=False)


def _html_block(info: str, code: str) -> str:
    language = f' class="language-{html.escape(info.split()[0], quote=True)}"' if info else ""
    return f"<pre><code{language}>{_html(code)}</code></pre>"


# HTML parse mode: `<b> <i> <s> <code> <pre> <a href>`; `&`, `<`, `>` escaped everywhere, `"` too inside
# attributes (core.telegram.org/bots/api#html-style).
TELEGRAM_HTML = TextStyle(
    escape=_html,
    bold=("<b>", "</b>"),
    italic=("<i>", "</i>"),
    strike=("<s>", "</s>"),
    link=lambda label, url: f'<a href="{html.escape(url, quote=True)}">{label}</a>',
    code_span=lambda code, _written: f"<code>{_html(code)}</code>",
    block=_html_block,
)


def _scopes(chat_id: str) -> Scopes:
    """About 1 message a second in one chat, 20 a minute in one group, about 30 a second overall."""
    scopes = [(f"chat:{chat_id}", Limit(1, 1.0)), ("bot", Limit(30, 1.0))]
    if chat_id.startswith("-"):  # groups, supergroups and channels have negative ids
        scopes.append((f"group:{chat_id}", Limit(20, 60.0)))
    return scopes


# Bot API uploads (core.telegram.org/bots/api#sending-files): photos up to 10 MB, other files up to
# 50 MB; a voice note is OGG/Opus (or MP3/M4A), `sendAudio` takes MP3/M4A, `sendVideo` MPEG-4.
MEDIA = MediaCaps(
    50 * MB,
    {
        SendAs.PHOTO: (frozenset({"image/jpeg", "image/png", "image/webp"}), 10 * MB),
        SendAs.VOICE: (frozenset({"audio/ogg", "audio/opus"}), 50 * MB),
        SendAs.AUDIO: (frozenset({"audio/mpeg", "audio/mp4", "audio/x-m4a"}), 50 * MB),
        SendAs.VIDEO: (frozenset({"video/mp4"}), 50 * MB),
    },
)
PROFILE = Profile("telegram", 4096, TELEGRAM_HTML, _scopes, utf16_length, MEDIA)


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
