"""The keys and nonces of the chunks egress sends: one ledger key per chunk (`sent_key`), a nonce derived
from it for the platforms that take one (`send_nonce`), and which chunk opens a reply (`opens_reply`).
Pure; shared by egress's sent ledger and the channels' clients."""

from __future__ import annotations

import hashlib


def sent_key(channel: str, reply_id: str, part: int, chunk: int) -> str:
    """The ledger key of one chunk of one reply part on one channel (egress's sent ledger)."""
    return f"sent:{channel}:{reply_id}:{part}.{chunk}"


def opens_reply(key: str) -> bool:
    """Whether the chunk of ledger key `key` is its reply's first (part 0, chunk 0): the one that may
    take the place of a placeholder the platform already shows (Discord's deferred "thinking…")."""
    return key.endswith(":0.0")


def send_nonce(key: str) -> str:
    """The nonce a chunk is sent with: derived from its ledger key, so every attempt (in any process)
    carries the same one; 25 characters, Discord's cap."""
    return hashlib.sha256(key.encode()).hexdigest()[:25]
