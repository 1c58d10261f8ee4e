"""WebChat: the run's own page, served by ingress (`ingress/http/webchat.py`), replies kept in a table.

It has no webhook (its API needs the run's token, not a platform signature), no relay and no pairing
(every message is the owner's), and it is internal: it answers its own conversation but never becomes
the agent's last route.
"""

from __future__ import annotations

from clawbus.bus.settings import Settings, WebchatSettings
from clawbus.channels.contracts import ChannelSpec, Outbound
from clawbus.channels.webchat import media, outbound


def _settings(settings: Settings) -> WebchatSettings:
    return settings.webchat


def _configured(cfg: WebchatSettings) -> bool:
    return cfg.enabled


SPEC: ChannelSpec[WebchatSettings] = ChannelSpec(
    name="webchat",
    settings=_settings,
    configured=_configured,
    outbound=Outbound(open_sender=outbound.open_sender),
    internal=True,
    pairing=False,
    media=media.open_media,
)
