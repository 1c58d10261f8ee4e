"""The one table of channels. Adding a channel is one line here (and its package).

No decorators or entry points: a channel exists because it is listed, never because something was
imported. Stages read the table through `all_channels()` / `spec()` at call time, so a test can list
a channel of its own (`monkeypatch.setattr(registry, "CHANNELS", (*CHANNELS, fake))`).
"""

from __future__ import annotations

from typing import Any

from clawbus.bus.errors import ConfigError
from clawbus.channels.contracts import ChannelSpec
from clawbus.channels.discord.spec import SPEC as DISCORD
from clawbus.channels.slack.spec import SPEC as SLACK
from clawbus.channels.telegram.spec import SPEC as TELEGRAM
from clawbus.channels.webchat.spec import SPEC as WEBCHAT
from clawbus.channels.whatsapp.spec import SPEC as WHATSAPP

CHANNELS: tuple[ChannelSpec[Any], ...] = (WEBCHAT, TELEGRAM, SLACK, DISCORD, WHATSAPP)


def all_channels() -> tuple[ChannelSpec[Any], ...]:
    """Every registered channel, in the table's order."""
    return CHANNELS


def names() -> tuple[str, ...]:
    """The registered channels' names, in order."""
    return tuple(s.name for s in CHANNELS)


def find(name: str) -> ChannelSpec[Any] | None:
    """The channel called `name`, or None."""
    return next((s for s in CHANNELS if s.name == name), None)


def spec(name: str) -> ChannelSpec[Any]:
    """The channel called `name`; `ConfigError` naming the known ones otherwise."""
    found = find(name)
    if found is None:
        raise ConfigError(f"no channel {name!r}; known: {', '.join(names())}")
    return found
