"""The channels: one package per platform, each described by a `ChannelSpec` in `registry.CHANNELS`.

Webhooks, the relay, egress, the gate, cron delivery and the CLI loop over the registry; none of them
names a platform. This layer sits above `storage/` and below the stages: it imports only `schemas`,
`bus` and `storage`.
"""

from __future__ import annotations

from clawbus.channels.contracts import ChannelSpec
from clawbus.channels.registry import CHANNELS, all_channels, find, spec

__all__ = ["CHANNELS", "ChannelSpec", "all_channels", "find", "spec"]
