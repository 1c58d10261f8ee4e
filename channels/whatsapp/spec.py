"""WhatsApp Cloud API: a webhook (Meta's `sha256=` HMAC, and a GET subscription handshake with the
verify token), replies through the Graph API. No relay."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from clawbus.bus.settings import Settings, WhatsappSettings
from clawbus.channels.contracts import ChannelSpec, IdRules, Outbound, Webhook, WebhookRequest
from clawbus.channels.normalised import Context, Parsed
from clawbus.channels.whatsapp import inbound, media, outbound


def _settings(settings: Settings) -> WhatsappSettings:
    return settings.whatsapp


def _configured(cfg: WhatsappSettings) -> bool:
    return cfg.configured()


def _secret(cfg: WhatsappSettings) -> str | None:
    return cfg.app_secret.get_secret_value() if cfg.app_secret else None


def _verify(request: WebhookRequest, cfg: WhatsappSettings, now: datetime) -> None:
    del now  # Meta's signature has no timestamp; old messages are refused by `normalise`
    inbound.verify(request.body, request.headers.get(inbound.SIGNATURE_HEADER), _secret(cfg))


def _normalise(data: dict[str, Any], cfg: WhatsappSettings, ctx: Context) -> Parsed:
    del cfg
    return inbound.normalise(data, ctx=ctx, dedup_ttl_s=ctx.dedup_ttl_s)


def _sign(body: bytes, cfg: WhatsappSettings, timestamp: int) -> dict[str, str]:
    del timestamp
    return inbound.signed_headers(_secret(cfg) or "", body)


def _subscribe(request: WebhookRequest, cfg: WhatsappSettings) -> str:
    token = cfg.verify_token
    return inbound.verify_subscription(request.query, token.get_secret_value() if token else None)


SPEC: ChannelSpec[WhatsappSettings] = ChannelSpec(
    name="whatsapp",
    settings=_settings,
    configured=_configured,
    webhook=Webhook(
        path="/webhooks/whatsapp", verify=_verify, normalise=_normalise, sign=_sign, subscribe=_subscribe
    ),
    outbound=Outbound(profile=outbound.PROFILE, open_client=outbound.open_whatsapp),
    ids=IdRules(prefixes=("wa:",)),
    media=media.open_media,
)
