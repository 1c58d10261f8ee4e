"""Send each chunk once: what to do with a chunk, given its ledger record and the platform's answer.

Every chunk has at most one record in the sent ledger (`egress/sent_ledger.py`): none yet, a
`SendIntent` written before the platform call (held under a lease while its worker lives), or a
`SendReceipt` written after the platform's 200. A worker killed between the 200 and the receipt leaves
an intent whose lease runs out; the next delivery must not simply post again, it asks the platform
first (`Reconciles`, where the platform can tell) and acts on the answer. This module is that decision,
without I/O, so every record state and every answer is tested directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clawbus.channels.contracts import Outcome, Reconciled, SendIntent


@dataclass(frozen=True)
class SendReceipt:
    """A chunk the platform has: its ledger key and the platform's message id (later edits use it)."""

    key: str
    message_id: str


@dataclass(frozen=True)
class HeldIntent:
    """An intent as the ledger holds it: the intent and until when its worker's lease lasts."""

    intent: SendIntent
    lease_until: datetime


ChunkRecord = SendReceipt | HeldIntent | None


@dataclass(frozen=True)
class Skip:
    """The chunk went out before (its receipt is recorded): do nothing."""

    message_id: str


@dataclass(frozen=True)
class Post:
    """Claim the chunk and post it; `reason` says why (`new`, or the reconcile outcome that allowed
    it), `warn` that the user may see it twice (the platform could not tell whether it has it)."""

    reason: str
    warn: bool = False


@dataclass(frozen=True)
class Adopt:
    """The platform has the chunk already: record `message_id` as its receipt, post nothing."""

    message_id: str


@dataclass(frozen=True)
class Wait:
    """Another live worker holds the chunk's intent: give the reply back until its lease ends."""

    until: datetime


@dataclass(frozen=True)
class Ask:
    """An interrupted intent: ask the platform (reconcile) before anything else."""

    intent: SendIntent


Action = Skip | Post | Adopt | Wait | Ask


def decide(record: ChunkRecord, now: datetime, answer: Reconciled | None = None) -> Action:
    """What to do with one chunk. `answer` is the platform's reconcile answer for an interrupted
    intent (None until asked; a client without the capability answers `UNKNOWN`).

    A receipt always wins (the chunk went out) and a live lease always waits (its worker may still get
    the 200); only an intent whose lease ran out is reconciled, and only there does the answer count.
    """
    if record is None:
        return Post("new")
    if isinstance(record, SendReceipt):
        return Skip(record.message_id)
    if record.lease_until > now:
        return Wait(record.lease_until)
    if answer is None:
        return Ask(record.intent)
    if answer.outcome is Outcome.SENT:
        return Adopt(answer.message_id)
    # A personal assistant: a chunk shown twice beats a chunk lost, so an unknown is posted again.
    return Post(answer.outcome.value, warn=answer.outcome is Outcome.UNKNOWN)
