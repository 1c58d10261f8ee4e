"""Pairing codes for unknown DM senders, as OpenClaw issues them. Pure: pass the time and randomness in.

A code is 8 characters from `ABCDEFGHJKLMNPQRSTUVWXYZ23456789` (no 0/O/1/I), unique among the pending
requests, valid for one hour from creation. At most 3 requests are pending per channel account; a new
sender beyond that gets no code and no reply. A sender who is already pending keeps the same code (and
the bot does not send it again). `clawbus pairing approve <channel> <code>` removes the request and adds
the sender to the channel's paired allowlist.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
TTL = timedelta(hours=1)
MAX_PENDING = 3
_MAX_TRIES = 500


@dataclass(frozen=True)
class PairingRequest:
    """A pending request: who asked, the code they were given, when."""

    sender_id: str
    code: str
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class RequestResult:
    """The pending list after a request; `request` is None when the cap was hit (no code, no reply)."""

    pending: tuple[PairingRequest, ...]
    request: PairingRequest | None
    created: bool


def prune(pending: tuple[PairingRequest, ...], now: datetime) -> tuple[PairingRequest, ...]:
    """The requests still valid at `now`."""
    return tuple(r for r in pending if r.created_at + TTL > now)


def new_code(taken: set[str], randbelow: Callable[[int], int]) -> str:
    """A fresh code not in `taken` (`randbelow` is `secrets.randbelow` outside tests)."""
    for _ in range(_MAX_TRIES):
        code = "".join(ALPHABET[randbelow(len(ALPHABET))] for _ in range(CODE_LENGTH))
        if code not in taken:
            return code
    raise RuntimeError("could not draw a unique pairing code")  # 32**8 codes, 3 pending: unreachable


def request_pairing(
    pending: tuple[PairingRequest, ...], sender_id: str, now: datetime, randbelow: Callable[[int], int]
) -> RequestResult:
    """Record that `sender_id` asked to talk to the bot."""
    live = prune(pending, now)
    for index, existing in enumerate(live):
        if existing.sender_id == sender_id:
            refreshed = replace(existing, last_seen_at=now)
            return RequestResult((*live[:index], refreshed, *live[index + 1 :]), refreshed, created=False)
    if len(live) >= MAX_PENDING:
        return RequestResult(live, None, created=False)
    request = PairingRequest(sender_id, new_code({r.code for r in live}, randbelow), now, now)
    return RequestResult((*live, request), request, created=True)


def approve_code(
    pending: tuple[PairingRequest, ...], code: str, now: datetime
) -> tuple[tuple[PairingRequest, ...], PairingRequest | None]:
    """The pending list without the request holding `code` (any case), and that request (None: no such
    live code)."""
    wanted = code.strip().upper()
    live = prune(pending, now)
    found = next((r for r in live if r.code == wanted), None)
    return tuple(r for r in live if r is not found), found


_PLACEHOLDER = re.compile(r"\{(code|channel|senderId|approveCommand)\}")


def pairing_text(channel: str, sender_id: str, code: str, template: str | None = None) -> str:
    """What an unknown sender is told (never logged: it carries their id and the code).

    `template` is the channel's `pairing.message` (`ChannelSettings.pairing_message`): `{code}`,
    `{channel}`, `{senderId}` and `{approveCommand}` are filled in one pass (a sender id that looks like
    a placeholder stays as it is); any other brace is text. None: the built-in text.
    """
    approve = f"clawbus pairing approve {channel} {code}"
    if template is None:
        return (
            "This assistant is not set up to talk to you yet.\n"
            f"Your {channel} id: {sender_id}\n"
            f"Pairing code: {code}\n"
            f"Ask the owner to run: {approve}"
        )
    values = {"code": code, "channel": channel, "senderId": sender_id, "approveCommand": approve}
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)
