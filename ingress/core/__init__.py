"""Ingress's pure pipeline: gate and pair the normalised turns of any channel.

Each channel's own package (`channels/<name>/inbound.py`) turns a verified payload into `Parsed` turns;
`gate` decides who may start one; `pairing` issues and approves pairing codes. Nothing here awaits,
reads the clock or the environment: the shells pass all of that in.
"""

from __future__ import annotations

from clawbus.channels.normalised import Context, Ignored, Parsed, Turn, load_json_object
from clawbus.channels.webchat.inbound import WebchatMessageIn, normalise
from clawbus.ingress.core.gate import Decision, Policy, Verdict, decide
from clawbus.ingress.core.pairing import (
    PairingRequest,
    RequestResult,
    approve_code,
    pairing_text,
    request_pairing,
)

__all__ = [
    "Context",
    "Decision",
    "Ignored",
    "PairingRequest",
    "Parsed",
    "Policy",
    "RequestResult",
    "Turn",
    "Verdict",
    "WebchatMessageIn",
    "approve_code",
    "decide",
    "load_json_object",
    "normalise",
    "pairing_text",
    "request_pairing",
]
