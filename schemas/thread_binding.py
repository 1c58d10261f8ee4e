"""Thread bindings, as OpenClaw has them: a thread bound to a session keeps going to it. Pure.

OpenClaw 2026.9.6 (tools/subagents/thread-bound-sessions.md, channels/discord/threads-and-sessions.md,
gateway/config-agents/sessions.md): when a sub-agent is spawned into a thread (`sessions_spawn` with
`thread: true`), the runtime binds that thread to the sub-agent's session, and "follow-up user messages in
that thread keep routing to the same sub-agent session", whichever agent it belongs to. A binding is a
session target, not a routing rule: it wins over every tier of `bindings[]` (exact peer and down), which
only apply to threads nobody bound. `session.threadBindings` sets the policy: `enabled` (master switch,
default on), `idleHours` (inactivity auto-unbind, default 24, `0` disables) and `maxAgeHours` (hard cap
from binding time, default 0 = none); `/session unbind` removes one without ending its session.

A conversation is `(channel, account, chat, thread)`: the chat and thread an answer goes to
(`ReplyTarget`), so a Slack `thread_ts`, a Discord thread channel and a Telegram forum topic are each
their own. clawbus stores bindings in the pairing table (`storage/thread_bindings.py`) and applies them at
ingress before enqueueing (`ingress/thread_binding.py`), as it does `/link` re-keys; the route says
`matched_by` `binding.thread` (clawbus's label).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from clawbus.schemas.inbound import InboundEvent

MATCHED_BY_THREAD = "binding.thread"


class ThreadBindingPolicy(BaseModel):
    """OpenClaw's `session.threadBindings` (`enabled`, `idleHours`, `maxAgeHours`)."""

    model_config = ConfigDict(frozen=True)
    enabled: bool = True
    idle_hours: float = Field(default=24.0, ge=0)
    max_age_hours: float = Field(default=0.0, ge=0)


class Conversation(BaseModel):
    """A thread as a binding names it."""

    model_config = ConfigDict(frozen=True)
    channel: str
    account_id: str
    chat_id: str
    thread_id: str | None = None


class ThreadBinding(BaseModel):
    """A thread bound to a session: messages in `conversation` go to `agent_id`'s `session_key`."""

    model_config = ConfigDict(frozen=True)
    conversation: Conversation
    agent_id: str = Field(min_length=1)
    session_key: str = Field(min_length=1)
    bound_at: datetime
    last_active_at: datetime
    idle_hours: float = Field(default=24.0, ge=0)
    max_age_hours: float = Field(default=0.0, ge=0)

    def expires_at(self) -> datetime | None:
        """When the binding lapses (the earlier of idle and max age), or None when neither applies."""
        ends = []
        if self.idle_hours:
            ends.append(self.last_active_at + timedelta(hours=self.idle_hours))
        if self.max_age_hours:
            ends.append(self.bound_at + timedelta(hours=self.max_age_hours))
        return min(ends) if ends else None

    def live(self, now: datetime) -> bool:
        """Whether the binding still routes at `now`."""
        ends = self.expires_at()
        return ends is None or now < ends


def conversation_of(event: InboundEvent) -> Conversation | None:
    """The thread `event` was written in, or None when it was not in a thread (a plain chat, a DM
    without a thread, a scheduled turn): only threads are bound."""
    target = event.reply_to
    if target is None or not (target.thread_id or event.parent_session_key):
        return None
    thread = (target.thread_id or "").strip() or None
    return Conversation(
        channel=event.channel, account_id=event.account_id, chat_id=target.chat_id, thread_id=thread
    )


def bound_event(event: InboundEvent, binding: ThreadBinding) -> InboundEvent:
    """`event` sent to the bound session: its agent and session key are the binding's."""
    return event.model_copy(update={"agent_id": binding.agent_id, "session_key": binding.session_key})
