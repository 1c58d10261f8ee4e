"""Ingress's pure pipeline: verify, dedup key, gate, normalise a platform event into an `InboundEvent`."""

from __future__ import annotations

from .webchat import WebchatMessageIn, normalise

__all__ = ["WebchatMessageIn", "normalise"]
