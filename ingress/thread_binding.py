"""Thread bindings at ingress: a message in a bound thread goes to the bound session.

After the gate and `/link` (bindings never admit anybody: the gate has decided), each message written in
a thread (`schemas.thread_binding.conversation_of`) is looked up in the store; a live binding re-keys it
to its agent and session (`ingress.thread.bound`, the session named by reference only) before it is
enqueued, so the inbound FIFO group, the dispatcher and the agent all see the bound session. Activity
moves the binding's idle end, written at most once a minute per thread. With
`session.thread_bindings.enabled` off nothing is looked up.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from clawbus.bus.clock import Clock
from clawbus.bus.logging import log_event, session_ref
from clawbus.schemas import InboundEvent
from clawbus.schemas.thread_binding import ThreadBindingPolicy, bound_event, conversation_of
from clawbus.storage.thread_bindings import ThreadBindingStore

logger = logging.getLogger(__name__)
TOUCH_EVERY = timedelta(minutes=1)


class ThreadBinder:
    """Sends messages of bound threads to their sessions (see the module docstring)."""

    def __init__(self, store: ThreadBindingStore, policy: ThreadBindingPolicy, clock: Clock) -> None:
        self._store = store
        self._policy = policy
        self._clock = clock

    async def resolve(self, event: InboundEvent) -> InboundEvent:
        """`event`, re-keyed when its thread is bound."""
        conversation = conversation_of(event) if self._policy.enabled else None
        if conversation is None:
            return event
        now = self._clock()
        binding = await self._store.find(conversation, now)
        if binding is None:
            return event
        if now - binding.last_active_at >= TOUCH_EVERY:
            await self._store.touch(binding, now)
        log_event(
            logger,
            "ingress.thread.bound",
            channel=event.channel,
            event_id=event.event_id,
            agent=binding.agent_id,
            session=session_ref(binding.session_key),
        )
        return bound_event(event, binding)
