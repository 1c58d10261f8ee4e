"""Thread bindings, from OpenClaw's docs (tools/subagents/thread-bound-sessions.md, gateway/config-agents/
sessions.md): a bound thread's messages go to the bound session, above every `bindings[]` tier; a binding
lapses after `idleHours` without activity (default 24) or `maxAgeHours` after it was made (default 0:
never); 0 turns either limit off; only threads are bound."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from clawbus.schemas import InboundEvent, Peer, PeerKind, ReplyTarget
from clawbus.schemas.routing import Binding, MatchedBy, RouteInput, RoutePeer, RoutingTable, resolve_route
from clawbus.schemas.thread_binding import (
    Conversation,
    ThreadBinding,
    ThreadBindingPolicy,
    bound_event,
    conversation_of,
)

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
THREAD = Conversation(channel="slack", account_id="default", chat_id="C1", thread_id="1700.000100")


def _binding(**fields: object) -> ThreadBinding:
    defaults: dict[str, object] = {
        "conversation": THREAD,
        "agent_id": "research",
        "session_key": "agent:research:subagent:7f3c",
        "bound_at": T0,
        "last_active_at": T0,
    }
    return ThreadBinding.model_validate({**defaults, **fields})


def _event(route_key: str, agent: str, thread: str | None = "1700.000100") -> InboundEvent:
    return InboundEvent(
        event_id="slack:Ev1",
        channel="slack",
        agent_id=agent,
        session_key=route_key,
        peer=Peer(kind=PeerKind.CHANNEL, id="C1"),
        reply_to=ReplyTarget(chat_id="C1", thread_id=thread),
    )


def test_a_bound_thread_goes_to_its_session_over_an_exact_peer_binding() -> None:
    peer_rule = Binding.model_validate(
        {"agentId": "ops", "match": {"channel": "slack", "peer": {"kind": "channel", "id": "C1"}}}
    )
    table = RoutingTable(default_agent="main", bindings=(peer_rule,))
    facts = RouteInput("slack", RoutePeer(PeerKind.CHANNEL, "C1"), thread_id="1700.000100")
    route = resolve_route(table, facts)
    assert (route.agent_id, route.matched_by) == ("ops", MatchedBy.PEER)  # unbound: the tiers decide
    event = _event(route.session_key, route.agent_id)
    conversation = conversation_of(event)
    assert conversation == THREAD
    bound = bound_event(event, _binding())
    assert (bound.agent_id, bound.session_key) == ("research", "agent:research:subagent:7f3c")
    assert bound.reply_to == event.reply_to  # the answer still goes to the thread


def test_only_threads_are_bound() -> None:
    assert conversation_of(_event("agent:main:slack:channel:c1", "main", thread=None)) is None


def test_a_binding_lapses_after_idle_hours_or_its_max_age_and_zero_turns_a_limit_off() -> None:
    idle = _binding()  # OpenClaw's defaults: 24 idle hours, no max age
    assert idle.live(T0 + timedelta(hours=23, minutes=59))
    assert not idle.live(T0 + timedelta(hours=24))
    assert idle.model_copy(update={"last_active_at": T0 + timedelta(hours=20)}).live(T0 + timedelta(hours=30))
    capped = _binding(idle_hours=0, max_age_hours=2)
    assert capped.live(T0 + timedelta(hours=1, minutes=59))
    assert not capped.model_copy(update={"last_active_at": T0 + timedelta(hours=2)}).live(
        T0 + timedelta(hours=2)
    )
    forever = _binding(idle_hours=0, max_age_hours=0)
    assert forever.expires_at() is None
    assert forever.live(T0 + timedelta(days=365))
    assert ThreadBindingPolicy() == ThreadBindingPolicy(enabled=True, idle_hours=24, max_age_hours=0)
