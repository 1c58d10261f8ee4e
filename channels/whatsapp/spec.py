"""WhatsApp Cloud API: a webhook (Meta's `sha256=` HMAC, and a GET subscription handshake with the
verify token), replies through the Graph API. No relay."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

from clawbus.bus.settings import Settings, WhatsappSettings
from clawbus.channels.contracts import ChannelSpec, IdRules, Outbound, PlatformClient, Webhook, WebhookRequest
from clawbus.channels.media_download import MediaDeps, MediaFetcher
from clawbus.channels.normalised import Context, Parsed
from clawbus.channels.whatsapp.profile import PROFILE


def _settings(settings: Settings) -> WhatsappSettings:
    return settings.whatsapp


def _configured(cfg: WhatsappSettings) -> bool:
    return cfg.configured()


def _secret(cfg: WhatsappSettings) -> str | None:
    return cfg.app_secret.get_secret_value() if cfg.app_secret else None


def _verify(request: WebhookRequest, cfg: WhatsappSettings, now: datetime) -> None:
    from clawbus.channels.whatsapp import inbound  # the platform SDK loads on first use

    del now  # Meta's signature has no timestamp; old messages are refused by `normalise`
    inbound.verify(request.body, request.headers.get(inbound.SIGNATURE_HEADER), _secret(cfg))


def _normalise(data: dict[str, Any], cfg: WhatsappSettings, ctx: Context) -> Parsed:
    from clawbus.channels.whatsapp import inbound  # the platform SDK loads on first use

    del cfg
    return inbound.normalise(data, ctx=ctx, dedup_ttl_s=ctx.dedup_ttl_s)


def _sign(body: bytes, cfg: WhatsappSettings, timestamp: int) -> dict[str, str]:
    from clawbus.channels.whatsapp import inbound  # the platform SDK loads on first use

    del timestamp
    return inbound.signed_headers(_secret(cfg) or "", body)


def _subscribe(request: WebhookRequest, cfg: WhatsappSettings) -> str:
    from clawbus.channels.whatsapp import inbound  # the platform SDK loads on first use

    token = cfg.verify_token
    return inbound.verify_subscription(request.query, token.get_secret_value() if token else None)


def _load_inbound() -> None:
    """Import what verifying and reading a webhook needs (ingress, at start, for an enabled channel)."""
    from clawbus.channels.whatsapp import inbound  # noqa: F401


def _open_client(cfg: WhatsappSettings, timeout_s: float) -> AbstractAsyncContextManager[PlatformClient]:
    from clawbus.channels.whatsapp.outbound import open_whatsapp  # the SDK loads where the client is opened

    return open_whatsapp(cfg, timeout_s)


def _open_media(cfg: WhatsappSettings, deps: MediaDeps) -> AbstractAsyncContextManager[MediaFetcher]:
    from clawbus.channels.whatsapp.media import open_media

    return open_media(cfg, deps)


SPEC: ChannelSpec[WhatsappSettings] = ChannelSpec(
    name="whatsapp",
    settings=_settings,
    configured=_configured,
    webhook=Webhook(
        load=_load_inbound,
        path="/webhooks/whatsapp",
        verify=_verify,
        normalise=_normalise,
        sign=_sign,
        subscribe=_subscribe,
    ),
    outbound=Outbound(profile=PROFILE, open_client=_open_client),
    ids=IdRules(prefixes=("wa:",), dm_address=r"\+?(\d{6,})"),
    media=_open_media,
)
