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
(`inbound.py`) and intake as webhook updates.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot, Update
from telegram.request import HTTPXRequest

from clawbus.bus.logging import log_event
from clawbus.bus.settings import TelegramSettings
from clawbus.channels.contracts import Handoff, until_stopped
from clawbus.channels.telegram import inbound as telegram
from clawbus.channels.telegram.errors import map_polling_errors
from clawbus.channels.telegram.outbound import DEFAULT_API_BASE

logger = logging.getLogger(__name__)
ALLOWED_UPDATES = ("message",)
_BATCH = 100  # getUpdates' maximum `limit`


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
        with map_polling_errors():
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
        with map_polling_errors():
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
