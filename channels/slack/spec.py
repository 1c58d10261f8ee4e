"""Slack: the Events API webhook or Socket Mode from the relay (`CLAWBUS_SLACK__MODE=socket`), replies
through the Web API in mrkdwn."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

from clawbus.bus.settings import Settings, SlackSettings
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
from clawbus.channels.slack.profile import PROFILE


def _settings(settings: Settings) -> SlackSettings:
    return settings.slack


def _configured(cfg: SlackSettings) -> bool:
    return cfg.configured()


def _secret(cfg: SlackSettings) -> str | None:
    return cfg.signing_secret.get_secret_value() if cfg.signing_secret else None


def _verify(request: WebhookRequest, cfg: SlackSettings, now: datetime) -> None:
    from clawbus.channels.slack import inbound  # the platform SDK loads on first use

    inbound.verify(request.body, request.headers, _secret(cfg), now)


def _normalise(data: dict[str, Any], cfg: SlackSettings, ctx: Context) -> Parsed:
    from clawbus.channels.slack import inbound  # the platform SDK loads on first use

    del cfg
    return inbound.normalise(data, ctx=ctx)


def _sign(body: bytes, cfg: SlackSettings, timestamp: int) -> dict[str, str]:
    from clawbus.channels.slack import inbound  # the platform SDK loads on first use

    return inbound.signed_headers(_secret(cfg) or "", body, timestamp)


def _socket(cfg: SlackSettings) -> bool:
    return cfg.mode == "socket"


def _open_relay(cfg: SlackSettings, handoff: Handoff) -> RelayTransport:
    from clawbus.channels.slack.relay import SlackSocketMode  # only the relay process needs it

    return SlackSocketMode(cfg, handoff)


def _load_inbound() -> None:
    """Import what verifying and reading a webhook needs (ingress, at start, for an enabled channel)."""
    from clawbus.channels.slack import inbound  # noqa: F401


def _open_client(cfg: SlackSettings, timeout_s: float) -> AbstractAsyncContextManager[PlatformClient]:
    from clawbus.channels.slack.outbound import open_slack  # the SDK loads where the client is opened

    return open_slack(cfg, timeout_s)


def _open_media(cfg: SlackSettings, deps: MediaDeps) -> AbstractAsyncContextManager[MediaFetcher]:
    from clawbus.channels.slack.media import open_media

    return open_media(cfg, deps)


SPEC: ChannelSpec[SlackSettings] = ChannelSpec(
    name="slack",
    settings=_settings,
    configured=_configured,
    webhook=Webhook(
        load=_load_inbound,
        path="/webhooks/slack/events",
        verify=_verify,
        normalise=_normalise,
        sign=_sign,
        # A refused request is not worth Slack's retries: they would be refused the same way.
        reject_headers={"X-Slack-No-Retry": "1"},
    ),
    relay=Relay(enabled=_socket, connect=_open_relay),
    outbound=Outbound(profile=PROFILE, open_client=_open_client),
    # A member id (`U…`/`W…`) as `channel` posts to the app's DM with that member (chat.postMessage).
    ids=IdRules(dm_address=r"([UW][A-Z0-9]+)"),
    media=_open_media,
)
