"""Telegram long polling (`CLAWBUS_TELEGRAM__MODE=polling`): `getUpdates` instead of a webhook.

Telegram keeps an update until a `getUpdates` call asks for an `offset` above its `update_id`. The
relay asks with `offset = last handed-over update_id + 1`, and only moves the offset once every update of
a batch is enqueued (or deliberately dropped): an update whose enqueue failed is fetched again, and one
fetched twice (after a crash between enqueue and the next call) is dropped by the dedup record
(`in:telegram:<bot id>:<update_id>`). A restart starts without an offset, so Telegram sends what is
still unconfirmed: nothing acknowledged is fetched again, nothing unacknowledged is lost.

`getUpdates` does not work while a webhook is set (409 Conflict), so each session first asks
`getWebhookInfo` and removes a webhook with `deleteWebhook` (keeping pending updates), logging
`relay.telegram.webhook_deleted`. A 409 during polling (another poller on the same token, or a webhook
set again) ends the session; it is retried with backoff and logged with what to do.

The webhook path checks `X-Telegram-Bot-Api-Secret-Token`; here the HTTPS call to the Bot API with the
bot's own token stands in for it: only Telegram can answer it. Updates go through the same normaliser
(`ingress/core/telegram.py`) and intake as webhook updates.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Iterator

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from clawbus.bus.errors import Throttled, Unauthorized, Unavailable
from clawbus.bus.logging import log_event
from clawbus.bus.settings import TelegramSettings
from clawbus.ingress.core import telegram
from clawbus.ingress.relay.handoff import Handoff
from clawbus.ingress.relay.reconnect import until_stopped

logger = logging.getLogger(__name__)
DEFAULT_API_BASE = "https://api.telegram.org"
ALLOWED_UPDATES = ("message",)
_BATCH = 100  # getUpdates' maximum `limit`


@contextlib.contextmanager
def _bot_api_errors() -> Iterator[None]:
    """python-telegram-bot's errors as ours (the boundary translation)."""
    try:
        yield
    except InvalidToken as exc:
        raise Unauthorized("Telegram refused the bot token; check CLAWBUS_TELEGRAM__BOT_TOKEN") from exc
    except RetryAfter as exc:
        after = exc.retry_after
        seconds = after.total_seconds() if isinstance(after, dt.timedelta) else float(after)
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


class TelegramPolling:
    """The Telegram transport: long polls `getUpdates` and hands each update to intake."""

    channel = "telegram"
    name = "long_polling"

    def __init__(self, settings: TelegramSettings, delivery: Handoff) -> None:
        assert settings.bot_token is not None  # only built when the channel is configured
        self._settings = settings
        self._delivery = delivery
        self._bot_id = telegram.bot_id_from_token(settings.bot_token.get_secret_value())
        self._username = settings.bot_username
        self._offset: int | None = None  # kept across sessions of this process

    def _bot(self) -> Bot:
        assert self._settings.bot_token is not None
        base = (self._settings.api_base or DEFAULT_API_BASE).rstrip("/")
        return Bot(
            self._settings.bot_token.get_secret_value(),
            base_url=f"{base}/bot",
            request=HTTPXRequest(connect_timeout=10.0, read_timeout=10.0),
            # getUpdates adds the poll timeout to this read timeout.
            get_updates_request=HTTPXRequest(connect_timeout=10.0, read_timeout=10.0),
        )

    async def session(self, stop: asyncio.Event) -> None:
        """Poll until `stop`; raises our errors when the Bot API fails (the caller backs off)."""
        bot = self._bot()
        with _bot_api_errors():
            async with bot:  # initialize() asks getMe, which also checks the token
                self._username = self._username or bot.username
                await self._drop_webhook(bot)
                log_event(logger, "relay.connection.opened", channel=self.channel, transport=self.name)
                while not stop.is_set():
                    updates = await until_stopped(self._fetch(bot), stop)
                    for update in updates:
                        await self._hand_over(update)
                        self._offset = update.update_id + 1

    async def _fetch(self, bot: Bot) -> tuple[Update, ...]:
        with _bot_api_errors():
            return await bot.get_updates(
                offset=self._offset,
                limit=_BATCH,
                timeout=self._settings.poll_timeout_s,
                allowed_updates=list(ALLOWED_UPDATES),
            )

    async def _drop_webhook(self, bot: Bot) -> None:
        info = await bot.get_webhook_info()
        if info.url:
            await bot.delete_webhook(drop_pending_updates=False)
            log_event(logger, "relay.telegram.webhook_deleted", logging.WARNING, channel=self.channel)

    async def _hand_over(self, update: Update) -> None:
        data = update.to_dict()
        await self._delivery.hand_over(
            lambda ctx: telegram.normalise(data, bot_id=self._bot_id, bot_username=self._username, ctx=ctx)
        )
