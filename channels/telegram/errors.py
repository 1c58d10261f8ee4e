"""The one place python-telegram-bot's errors become clawbus errors (`bus.errors`).

Sending (`map_telegram_errors`) and long polling (`map_polling_errors`) translate differently on
purpose: a refused send to a chat that is gone is permanent for that reply, while any failure of
`getUpdates` (a 409 Conflict with another poller included) is a reason to reconnect with backoff.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from clawbus.bus.errors import (
    DeadlineExceeded,
    PermanentError,
    TargetGone,
    Throttled,
    Unauthorized,
    Unavailable,
)

_GONE = ("chat not found", "user not found", "bot was kicked", "chat was deactivated", "group chat was")


def _seconds(exc: RetryAfter) -> float:
    after = exc.retry_after
    return after.total_seconds() if isinstance(after, dt.timedelta) else float(after)


@contextlib.contextmanager
def map_telegram_errors(what: str) -> Iterator[None]:
    """Translate python-telegram-bot errors raised in the block into clawbus errors."""
    try:
        yield
    except RetryAfter as exc:
        seconds = _seconds(exc)
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


@contextlib.contextmanager
def map_polling_errors() -> Iterator[None]:
    """python-telegram-bot's errors during long polling as ours: here a 409 Conflict (another poller)
    and every other Bot API failure are worth reconnecting for, not a reason to drop a message."""
    try:
        yield
    except InvalidToken as exc:
        raise Unauthorized("Telegram refused the bot token; check CLAWBUS_TELEGRAM__BOT_TOKEN") from exc
    except RetryAfter as exc:
        seconds = _seconds(exc)
        raise Throttled(f"Telegram flood control (retry in {seconds:g}s)", retry_after=seconds) from exc
    except Conflict as exc:
        raise Unavailable(
            "Telegram refused getUpdates (409 Conflict): another process polls with this token, or a "
            "webhook was set again; stop the other poller or use CLAWBUS_TELEGRAM__MODE=webhook"
        ) from exc
    except NetworkError as exc:  # includes TimedOut; a 5xx from the Bot API is a NetworkError too
        raise Unavailable(f"Telegram Bot API unreachable: {exc}") from exc
    except TelegramError as exc:
        raise Unavailable(f"Telegram Bot API error: {exc}") from exc
