"""Decoding envelopes at a stage's edge, with `schemas`' errors translated into the bus hierarchy."""

from __future__ import annotations

from clawbus import schemas
from clawbus.bus.errors import InvalidEnvelope, UnsupportedSchemaVersion
from clawbus.schemas import EnvelopeError, InboundEvent, OutboundReply, parse_inbound, parse_outbound


def decode_inbound(body: str) -> InboundEvent:
    """An inbound event from a queue body; raises `UnsupportedSchemaVersion` or `InvalidEnvelope`."""
    try:
        return parse_inbound(body)
    except schemas.UnsupportedSchemaVersion as exc:
        raise UnsupportedSchemaVersion(str(exc)) from exc
    except EnvelopeError as exc:
        raise InvalidEnvelope(str(exc)) from exc


def decode_outbound(body: str) -> OutboundReply:
    """An outbound reply from a queue body; raises `UnsupportedSchemaVersion` or `InvalidEnvelope`."""
    try:
        return parse_outbound(body)
    except schemas.UnsupportedSchemaVersion as exc:
        raise UnsupportedSchemaVersion(str(exc)) from exc
    except EnvelopeError as exc:
        raise InvalidEnvelope(str(exc)) from exc
