"""Discord: slash commands over the interactions webhook, messages over the gateway (the relay),
replies through the REST API (follow-ups for interactions)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

from clawbus.bus.settings import DiscordSettings, Settings
from clawbus.channels.contracts import (
    ChannelSpec,
    Handoff,
    Outbound,
    PlatformClient,
    Relay,
    RelayTransport,
    Webhook,
    WebhookRequest,
)
from clawbus.channels.discord.profile import PROFILE
from clawbus.channels.media_download import MediaDeps, MediaFetcher
from clawbus.channels.normalised import Context, Parsed


def _settings(settings: Settings) -> DiscordSettings:
    return settings.discord


def _configured(cfg: DiscordSettings) -> bool:
    return cfg.configured()


def _verify(request: WebhookRequest, cfg: DiscordSettings, now: datetime) -> None:
    from clawbus.channels.discord import inbound  # the platform SDK loads on first use

    inbound.verify(
        request.body,
        request.headers.get(inbound.SIGNATURE_HEADER),
        request.headers.get(inbound.TIMESTAMP_HEADER),
        cfg.public_key,
        now=now,
    )


def _normalise(data: dict[str, Any], cfg: DiscordSettings, ctx: Context) -> Parsed:
    from clawbus.channels.discord import inbound  # the platform SDK loads on first use

    del cfg
    return inbound.normalise(data, ctx=ctx)


def _gateway(cfg: DiscordSettings) -> bool:
    del cfg
    return True  # every configured Discord bot holds the gateway: plain messages only come that way


def _open_relay(cfg: DiscordSettings, handoff: Handoff) -> RelayTransport:
    from clawbus.channels.discord.relay import DiscordGateway  # only the relay process needs discord.py

    return DiscordGateway(cfg, handoff)


def _load_inbound() -> None:
    """Import what verifying and reading a webhook needs (ingress, at start, for an enabled channel)."""
    from clawbus.channels.discord import inbound  # noqa: F401


def _open_client(cfg: DiscordSettings, timeout_s: float) -> AbstractAsyncContextManager[PlatformClient]:
    from clawbus.channels.discord.outbound import open_discord  # the SDK loads where the client is opened

    return open_discord(cfg, timeout_s)


def _open_media(cfg: DiscordSettings, deps: MediaDeps) -> AbstractAsyncContextManager[MediaFetcher]:
    from clawbus.channels.discord.media import open_media

    return open_media(cfg, deps)


SPEC: ChannelSpec[DiscordSettings] = ChannelSpec(
    name="discord",
    settings=_settings,
    configured=_configured,
    # Discord signs with the application's private key, which a deployment never holds: no `sign`
    # (tests sign with a key of their own, `inbound.signed_headers`).
    webhook=Webhook(
        load=_load_inbound, path="/webhooks/discord/interactions", verify=_verify, normalise=_normalise
    ),
    relay=Relay(enabled=_gateway, connect=_open_relay),
    outbound=Outbound(profile=PROFILE, open_client=_open_client),
    media=_open_media,
)
