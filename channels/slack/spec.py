"""Slack: the Events API webhook or Socket Mode from the relay (`CLAWBUS_SLACK__MODE=socket`), replies
through the Web API in mrkdwn."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from clawbus.bus.settings import Settings, SlackSettings
from clawbus.channels.contracts import (
    ChannelSpec,
    Handoff,
    Outbound,
    Relay,
    RelayTransport,
    Webhook,
    WebhookRequest,
)
from clawbus.channels.normalised import Context, Parsed
from clawbus.channels.slack import inbound, media, outbound


def _settings(settings: Settings) -> SlackSettings:
    return settings.slack


def _configured(cfg: SlackSettings) -> bool:
    return cfg.configured()


def _secret(cfg: SlackSettings) -> str | None:
    return cfg.signing_secret.get_secret_value() if cfg.signing_secret else None


def _verify(request: WebhookRequest, cfg: SlackSettings, now: datetime) -> None:
    inbound.verify(request.body, request.headers, _secret(cfg), now)


def _normalise(data: dict[str, Any], cfg: SlackSettings, ctx: Context) -> Parsed:
    del cfg
    return inbound.normalise(data, ctx=ctx)


def _sign(body: bytes, cfg: SlackSettings, timestamp: int) -> dict[str, str]:
    return inbound.signed_headers(_secret(cfg) or "", body, timestamp)


def _socket(cfg: SlackSettings) -> bool:
    return cfg.mode == "socket"


def _open_relay(cfg: SlackSettings, handoff: Handoff) -> RelayTransport:
    from clawbus.channels.slack.relay import SlackSocketMode  # only the relay process needs it

    return SlackSocketMode(cfg, handoff)


SPEC: ChannelSpec[SlackSettings] = ChannelSpec(
    name="slack",
    settings=_settings,
    configured=_configured,
    webhook=Webhook(
        path="/webhooks/slack/events",
        verify=_verify,
        normalise=_normalise,
        sign=_sign,
        # A refused request is not worth Slack's retries: they would be refused the same way.
        reject_headers={"X-Slack-No-Retry": "1"},
    ),
    relay=Relay(enabled=_socket, connect=_open_relay),
    outbound=Outbound(profile=outbound.PROFILE, open_client=outbound.open_slack),
    media=media.open_media,
)
