"""Telegram through python-telegram-bot's `Bot`: `sendMessage` (HTML parse mode) and `sendChatAction`.

`CLAWBUS_TELEGRAM__API_BASE` (default `https://api.telegram.org`) is where the Bot API lives; the bot
token is appended as `<base>/bot<token>/<method>`, as the Bot API (and a local Bot API server) expects.
Errors are translated once, in `map_telegram_errors`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Iterator

from telegram import Bot, ReplyParameters
from telegram.constants import ChatAction, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from clawbus.bus.errors import (
    ConfigError,
    DeadlineExceeded,
    PermanentError,
    TargetGone,
    Throttled,
    Unauthorized,
    Unavailable,
)
from clawbus.bus.settings import TelegramSettings
from clawbus.schemas import ReplyTarget

DEFAULT_API_BASE = "https://api.telegram.org"
_GONE = ("chat not found", "user not found", "bot was kicked", "chat was deactivated", "group chat was")


@contextlib.contextmanager
def map_telegram_errors(what: str) -> Iterator[None]:
    """Translate python-telegram-bot errors raised in the block into clawbus errors."""
    try:
        yield
    except RetryAfter as exc:
        after = exc.retry_after
        seconds = after.total_seconds() if isinstance(after, dt.timedelta) else float(after)
        raise Throttled(f"telegram {what}: flood control (retry {seconds:g}s)", retry_after=seconds) from exc
    except InvalidToken as exc:
        raise Unauthorized(
            f"telegram {what}: the bot token was refused — check CLAWBUS_TELEGRAM__BOT_TOKEN"
        ) from exc
    except Forbidden as exc:
        raise TargetGone(f"telegram {what}: {exc.message} (the bot cannot write to this chat)") from exc
    except ChatMigrated as exc:
        raise TargetGone(f"telegram {what}: the group moved to chat {exc.new_chat_id}") from exc
    except BadRequest as exc:
        if any(marker in exc.message.lower() for marker in _GONE):
            raise TargetGone(f"telegram {what}: {exc.message}") from exc
        raise PermanentError(f"telegram {what}: request refused: {exc.message}") from exc
    except TimedOut as exc:
        raise DeadlineExceeded(f"telegram {what}: timed out") from exc
    except NetworkError as exc:
        raise Unavailable(f"telegram {what}: {exc.message}") from exc
    except TelegramError as exc:
        raise PermanentError(f"telegram {what}: {exc.message}") from exc


class TelegramClient:
    """`PlatformClient` for the Telegram Bot API."""

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
