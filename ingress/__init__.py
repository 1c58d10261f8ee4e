"""Ingress: platform events (webhooks, the relay, WebChat) verified, deduplicated, gated, normalised into
`InboundEvent`s and put on the inbound FIFO queue, one message group per session. Ingress never calls
the agent: it acknowledges as soon as the event is safely on the queue.
"""

from __future__ import annotations

from clawbus.ingress.publisher import InboundPublisher

__all__ = ["InboundPublisher"]
