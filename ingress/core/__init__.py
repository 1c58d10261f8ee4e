"""Ingress's pure pipeline: verify, dedup key, gate, normalise a platform event into an `InboundEvent`.

One module per channel (`telegram`, `slack`, `discord`, `whatsapp`, `webchat`) turns a verified payload
into `Parsed` turns; `gate` decides who may start one; `pairing` issues and approves pairing codes.
Nothing here awaits, reads the clock or the environment: the shells pass all of that in.
"""

from __future__ import annotations

from clawbus.ingress.core import discord, slack, telegram, whatsapp
from clawbus.ingress.core.gate import Decision, Policy, Verdict, decide
from clawbus.ingress.core.pairing import (
    PairingRequest,
    RequestResult,
    approve_code,
    pairing_text,
    request_pairing,
)
from clawbus.ingress.core.turns import Context, Ignored, Parsed, Turn, load_json_object
from clawbus.ingress.core.webchat import WebchatMessageIn, normalise

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
    "discord",
    "load_json_object",
    "normalise",
    "pairing_text",
    "request_pairing",
    "slack",
    "telegram",
    "whatsapp",
]
