"""Decoding envelopes at a stage's edge, with `schemas`' errors translated into the bus hierarchy."""

from __future__ import annotations

from clawbus.bus.errors import InvalidEnvelope, UnknownSchemaVersion
from clawbus.schemas import (
    EnvelopeError,
    InboundEvent,
    OutboundReply,
    UnsupportedSchemaVersion,
    parse_inbound,
    parse_outbound,
)


def decode_inbound(body: str) -> InboundEvent:
    """An inbound event from a queue body; raises `UnknownSchemaVersion` or `InvalidEnvelope`."""
    try:
        return parse_inbound(body)
    except UnsupportedSchemaVersion as exc:
        raise UnknownSchemaVersion(str(exc)) from exc
    except EnvelopeError as exc:
        raise InvalidEnvelope(str(exc)) from exc


def decode_outbound(body: str) -> OutboundReply:
    """An outbound reply from a queue body; raises `UnknownSchemaVersion` or `InvalidEnvelope`."""
    try:
        return parse_outbound(body)
    except UnsupportedSchemaVersion as exc:
        raise UnknownSchemaVersion(str(exc)) from exc
    except EnvelopeError as exc:
        raise InvalidEnvelope(str(exc)) from exc
