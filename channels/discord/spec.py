"""Discord: slash commands over the interactions webhook, messages over the gateway (the relay),
replies through the REST API (follow-ups for interactions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from clawbus.bus.settings import DiscordSettings, Settings
from clawbus.channels.contracts import (
    ChannelSpec,
    Handoff,
    Outbound,
    Relay,
    RelayTransport,
    Webhook,
    WebhookRequest,
)
from clawbus.channels.discord import inbound, media, outbound
from clawbus.channels.normalised import Context, Parsed


def _settings(settings: Settings) -> DiscordSettings:
    return settings.discord


def _configured(cfg: DiscordSettings) -> bool:
    return cfg.configured()


def _verify(request: WebhookRequest, cfg: DiscordSettings, now: datetime) -> None:
    inbound.verify(
        request.body,
        request.headers.get(inbound.SIGNATURE_HEADER),
        request.headers.get(inbound.TIMESTAMP_HEADER),
        cfg.public_key,
        now=now,
    )


def _normalise(data: dict[str, Any], cfg: DiscordSettings, ctx: Context) -> Parsed:
    del cfg
    return inbound.normalise(data, ctx=ctx)


def _gateway(cfg: DiscordSettings) -> bool:
    del cfg
    return True  # every configured Discord bot holds the gateway: plain messages only come that way


def _open_relay(cfg: DiscordSettings, handoff: Handoff) -> RelayTransport:
    from clawbus.channels.discord.relay import DiscordGateway  # only the relay process needs discord.py

    return DiscordGateway(cfg, handoff)


SPEC: ChannelSpec[DiscordSettings] = ChannelSpec(
    name="discord",
    settings=_settings,
    configured=_configured,
    # Discord signs with the application's private key, which a deployment never holds: no `sign`
    # (tests sign with a key of their own, `inbound.signed_headers`).
    webhook=Webhook(path="/webhooks/discord/interactions", verify=_verify, normalise=_normalise),
    relay=Relay(enabled=_gateway, connect=_open_relay),
    outbound=Outbound(profile=outbound.PROFILE, open_client=outbound.open_discord),
    media=media.open_media,
)
