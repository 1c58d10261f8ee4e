"""The registry is the one table of channels: settings, the webhook routes and the id rules agree with it."""

from __future__ import annotations

from clawbus.bus import settings as bus_settings
from clawbus.channels import registry
from clawbus.ingress.webhooks import routes


def test_the_settings_know_exactly_the_registered_channels() -> None:
    assert registry.names() == bus_settings.CHANNELS
    for spec in registry.CHANNELS:  # each accessor reads that channel's own section
        assert spec.settings(bus_settings.Settings()) is not None


def test_webhook_routes_come_from_the_specs() -> None:
    assert routes() == {
        "telegram": "/webhooks/telegram",
        "slack": "/webhooks/slack/events",
        "discord": "/webhooks/discord/interactions",
        "whatsapp": "/webhooks/whatsapp",
    }


def test_webchat_is_internal_and_has_no_pairing() -> None:
    internal = [s.name for s in registry.CHANNELS if s.internal]
    no_pairing = [s.name for s in registry.CHANNELS if not s.pairing]
    assert internal == no_pairing == ["webchat"]
