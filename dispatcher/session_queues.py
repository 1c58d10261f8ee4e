"""A session's `/queue` override, kept on its session entry (OpenClaw's `queueMode`, `queueDebounceMs`,
`queueCap`, `queueDrop`).

Written by the control lane when a trusted sender sends `/queue …`; read by the planner only for a run
that the queue mode can change (several messages, or one that arrived while a turn ran), so an idle
session's single message costs no read. A read that fails plans with the configured settings (a
preference is not worth holding a turn back); a write that fails is retried by the queue.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from clawbus.dispatcher.core.control_commands import QueueOverride
from clawbus.schemas import InboundEvent
from clawbus.storage import SessionEntry, SessionIndex


class SessionQueues:
    """Reads and writes the per-session queue override on the session index."""

    def __init__(self, index: SessionIndex, new_id: Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        self._index = index
        self._new_id = new_id

    async def get(self, event: InboundEvent) -> QueueOverride | None:
        """The override stored for `event`'s session (None: none). Raises the index's errors."""
        entry = await self._index.get(event.agent_id, event.session_key)
        if entry is None or not any(
            (entry.queue_mode, entry.queue_debounce_ms is not None, entry.queue_cap, entry.queue_drop)
        ):
            return None
        return QueueOverride(entry.queue_mode, entry.queue_debounce_ms, entry.queue_cap, entry.queue_drop)

    async def put(self, event: InboundEvent, override: QueueOverride | None) -> None:
        """Store `override` for `event`'s session (None clears it). Safe to repeat."""
        o = override or QueueOverride()
        fields = {
            "queue_mode": o.mode,
            "queue_debounce_ms": o.debounce_ms,
            "queue_cap": o.cap,
            "queue_drop": o.drop,
        }

        def change(current: SessionEntry | None) -> SessionEntry:
            if current is None:  # a placeholder the agent's first turn takes over (keeping these)
                return SessionEntry.model_validate({"session_id": self._new_id(), **fields})
            if all(getattr(current, name) == value for name, value in fields.items()):
                return current
            return current.model_copy(update=fields)

        await self._index.update(event.agent_id, event.session_key, change)
