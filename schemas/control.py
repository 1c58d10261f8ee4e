"""The control lane's vocabulary: which messages are control commands, and the lane's FIFO group.

Every ordinary message of a session waits in one FIFO group behind the session's running turn. A
control command (`/stop`, `/status`, `/queue …`, and the reset triggers `/new`, `/reset`) must act on
that turn, so ingress also puts it on the session's *control lane*: the same inbound queue under a
group of its own (`control_group_id`), which SQS hands out while the session's group is held by its
turn. The copy carries the command in `InboundEvent.control`. `/stop`, `/status` and `/queue` travel
only on the control lane; a reset trigger also goes its usual way (the FIFO lane, where the agent starts
the new session in order) and its control copy stops the running turn. See docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Iterable

from clawbus.schemas.ids import message_group_id

STOP = "stop"
STATUS = "status"
QUEUE = "queue"
RESET = "reset"
STEER = "steer"  # an ordinary message's copy, for the session's running turn (queue mode `steer`)
INTERRUPT = "interrupt"  # an ordinary message's copy that aborts the running turn (mode `interrupt`)
MID_TURN = frozenset({STEER, INTERRUPT})  # copies of ordinary messages: the FIFO copy is the message
LANE_ONLY = frozenset({STOP, STATUS, QUEUE})  # never a turn: the control lane answers them itself
CONTROL_SUFFIX = "#control"


def command_word(text: str) -> tuple[str, str] | None:
    """`/name rest` as `(name, rest)`, lower-cased, a Telegram `@bot` suffix dropped; None otherwise."""
    stripped = text.strip()
    if not stripped.startswith("/"):
        return None
    head, *rest = stripped.split(maxsplit=1)
    name = head[1:].split("@", 1)[0].lower()
    return (name, rest[0].strip() if rest else "") if name else None


def control_command(text: str, reset_triggers: Iterable[str] = ("/new", "/reset")) -> str | None:
    """The control command `text` is (`stop`, `status`, `queue`, `reset`), or None for a message.

    `/stop` and `/status` count only alone; `/queue` with its options; a reset trigger (the session's
    `resetTriggers`) with or without a message after it.
    """
    word = command_word(text)
    if word is None:
        return None
    name, rest = word
    if name in (STOP, STATUS) and not rest:
        return name
    if name == QUEUE:
        return QUEUE
    triggers = {t.lower().lstrip("/") for t in reset_triggers if t.startswith("/")}
    return RESET if name in triggers else None


def control_group_id(session_key: str) -> str:
    """The FIFO group of the session's control lane (beside `message_group_id(session_key)`)."""
    return message_group_id(session_key + CONTROL_SUFFIX)
