"""Which lane an admitted message takes: the session's FIFO lane, its control lane, or both.

A control command (`schemas/control.py`) from a trusted sender (the owner, or an allowed or paired
DM sender: `schemas.trusted`) goes on the session's control lane, so it acts while the session's turn
runs. `/stop`, `/status` and `/queue` go only there; a reset trigger goes both ways (its control copy
stops the running turn; the FIFO copy starts the new session in order). Anyone else's `/stop` is an
ordinary message, gated like any other before it gets here.

An ordinary message (text, no files) of a channel whose configured queue mode is `steer` or
`interrupt` goes both ways too: its control copy (`control: "steer"`/`"interrupt"`) reaches the
session's running turn while the FIFO copy waits behind it (docs/queue.md). Whether the copy acts (a
turn runs, the session's own `/queue` mode, the sender's trust) is decided downstream; the FIFO copy is
the message either way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from clawbus.schemas import EventKind, InboundEvent, trusted
from clawbus.schemas.control import LANE_ONLY, MID_TURN, control_command


@dataclass(frozen=True)
class Lanes:
    """Where an admitted event goes: the FIFO lane, and the control command for the control lane."""

    fifo: bool
    control: str | None


def lanes_for(event: InboundEvent, reset_triggers: Iterable[str], mode: str | None = None) -> Lanes:
    """The lanes of an admitted `event`, whose channel's configured queue mode is `mode`. Pure."""
    if event.kind is not EventKind.MESSAGE or event.attachments:
        return Lanes(fifo=True, control=None)
    command = control_command(event.text, reset_triggers) if trusted(event) else None
    if command is None:
        return Lanes(fifo=True, control=mode if mode in MID_TURN else None)
    return Lanes(fifo=command not in LANE_ONLY, control=command)
