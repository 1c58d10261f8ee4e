"""Telegram: a webhook (`setWebhook` with a secret token) or long polling from the relay
(`CLAWBUS_TELEGRAM__MODE=polling`), replies through the Bot API in HTML parse mode."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

from clawbus.bus.settings import Settings, TelegramSettings
from clawbus.channels.contracts import (
    ChannelSpec,
    Handoff,
    IdRules,
    Outbound,
    PlatformClient,
    Relay,
    RelayTransport,
    Webhook,
    WebhookRequest,
)
from clawbus.channels.media_download import MediaDeps, MediaFetcher
from clawbus.channels.normalised import Context, Parsed
from clawbus.channels.telegram.profile import PROFILE


def _settings(settings: Settings) -> TelegramSettings:
    return settings.telegram


def _configured(cfg: TelegramSettings) -> bool:
    return cfg.configured()


def _secret(cfg: TelegramSettings) -> str | None:
    return cfg.webhook_secret.get_secret_value() if cfg.webhook_secret else None


def _verify(request: WebhookRequest, cfg: TelegramSettings, now: datetime) -> None:
    from clawbus.channels.telegram import inbound  # the platform SDK loads on first use

    del now  # a constant secret, not a timestamped signature
    inbound.verify(request.headers.get(inbound.SECRET_HEADER), _secret(cfg))


def _normalise(data: dict[str, Any], cfg: TelegramSettings, ctx: Context) -> Parsed:
    from clawbus.channels.telegram import inbound  # the platform SDK loads on first use

    assert cfg.bot_token is not None  # enabled means configured
    bot_id = inbound.bot_id_from_token(cfg.bot_token.get_secret_value())
    return inbound.normalise(data, bot_id=bot_id, bot_username=cfg.bot_username, ctx=ctx)


def _sign(body: bytes, cfg: TelegramSettings, timestamp: int) -> dict[str, str]:
    from clawbus.channels.telegram import inbound  # the platform SDK loads on first use

    del body, timestamp
    return inbound.signed_headers(_secret(cfg) or "")


def _polling(cfg: TelegramSettings) -> bool:
    return cfg.mode == "polling"


def _open_relay(cfg: TelegramSettings, handoff: Handoff) -> RelayTransport:
    from clawbus.channels.telegram.relay import TelegramPolling  # only the relay process needs it

    return TelegramPolling(cfg, handoff)


def _load_inbound() -> None:
    """Import what verifying and reading a webhook needs (ingress, at start, for an enabled channel)."""
    from clawbus.channels.telegram import inbound  # noqa: F401


def _open_client(cfg: TelegramSettings, timeout_s: float) -> AbstractAsyncContextManager[PlatformClient]:
    from clawbus.channels.telegram.outbound import open_telegram  # the SDK loads where the client is opened

    return open_telegram(cfg, timeout_s)


def _open_media(cfg: TelegramSettings, deps: MediaDeps) -> AbstractAsyncContextManager[MediaFetcher]:
    from clawbus.channels.telegram.media import open_media

    return open_media(cfg, deps)


SPEC: ChannelSpec[TelegramSettings] = ChannelSpec(
    name="telegram",
    settings=_settings,
    configured=_configured,
    webhook=Webhook(
        load=_load_inbound, path="/webhooks/telegram", verify=_verify, normalise=_normalise, sign=_sign
    ),
    relay=Relay(enabled=_polling, connect=_open_relay),
    outbound=Outbound(profile=PROFILE, open_client=_open_client),
    ids=IdRules(prefixes=("tg:",), strip_at=True, dm_address=r"(\d+)"),
    media=_open_media,
)
