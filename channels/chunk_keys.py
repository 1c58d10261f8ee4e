"""The keys and nonces of the chunks egress sends: one ledger key per chunk (`sent_key`) and per turn's
progress draft (`draft_key`), a nonce derived from either for the platforms that take one (`send_nonce`),
and which message opens a reply (`opens_reply`, `opens_draft`). Pure; shared by egress's ledgers and the
channels' clients."""

from __future__ import annotations

import hashlib


def sent_key(channel: str, reply_id: str, part: int, chunk: int) -> str:
    """The ledger key of one chunk of one reply part on one channel (egress's sent ledger)."""
    return f"sent:{channel}:{reply_id}:{part}.{chunk}"


def opens_reply(key: str) -> bool:
    """Whether the chunk of ledger key `key` is its reply's first (part 0, chunk 0): the one that may
    take the place of a placeholder the platform already shows (Discord's deferred "thinking…")."""
    return key.endswith(":0.0")


def draft_key(channel: str, turn_id: str) -> str:
    """The ledger key of one turn's progress draft on one channel (egress's draft ledger); the key the
    draft is posted with."""
    return f"draft:{channel}:{turn_id}"


def opens_draft(key: str) -> bool:
    """Whether the message posted with key `key` is a turn's progress draft: like a reply's first chunk,
    it may take the place of a placeholder the platform already shows (Discord's deferred "thinking…")."""
    return key.startswith("draft:")


def send_nonce(key: str) -> str:
    """The nonce a chunk is sent with: derived from its ledger key, so every attempt (in any process)
    carries the same one; 25 characters, Discord's cap."""
    return hashlib.sha256(key.encode()).hexdigest()[:25]
