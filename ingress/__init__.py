"""Ingress: platform events (webhooks, the relay, WebChat) verified, deduplicated, gated, normalised into
`InboundEvent`s and put on the inbound FIFO queue, one message group per session. Ingress never calls
the agent: it acknowledges as soon as the event is safely on the queue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clawbus.ingress.publisher import InboundPublisher

__all__ = ["InboundPublisher"]


def __getattr__(name: str) -> Any:
    # on first use: `clawbus up` and `say` import `ingress.http.token_file`, and every stage imports them
    # through `cli.main`; the publisher brings botocore and OpenTelemetry's SDK (~0.3 s of a CLI start)
    if name == "InboundPublisher":
        from clawbus.ingress.publisher import InboundPublisher

        return InboundPublisher
    raise AttributeError(name)
