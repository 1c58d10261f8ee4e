"""The turns the OpenClaw engine is running, by session key: whom a plugin's callback acts for.

OpenClaw's plugins know a turn only by its session key (from OpenClaw's trusted hook and tool context,
never from the model). The engine registers each turn's `TurnScope` (agent, trust, route) here while the
turn runs, so the plugins' callbacks (`cron/callback.py`, `trust/callback.py`) act for that turn. A key
with no running turn gets an untrusted scope without a route: whatever OpenClaw runs on its own (a
sub-agent, the warm-up) is never trusted. Turns are registered under the key the gateway runs them on
(`session_keys.gateway_session_key`: a cron job's key is renamed there), which is what the plugins see.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from clawbus.agent.engines.openclaw.session_keys import gateway_session_key
from clawbus.agent.tools.scope import TurnScope


class ActiveTurns:
    """The turns the engine is running, by the session key the gateway runs them on."""

    def __init__(self) -> None:
        self._scopes: dict[str, TurnScope] = {}

    @contextlib.contextmanager
    def running(self, scope: TurnScope) -> Iterator[None]:
        """Register `scope` for the block: the engine wraps each OpenClaw turn in it."""
        key = gateway_session_key(scope.session_key)
        self._scopes[key] = scope
        try:
            yield
        finally:
            if self._scopes.get(key) is scope:
                del self._scopes[key]

    def scope_for(self, session_key: str | None, agent_id: str | None, default_agent: str) -> TurnScope:
        """The running turn of `session_key`, else an untrusted scope without a route."""
        if session_key and session_key in self._scopes:
            return self._scopes[session_key]
        agent = agent_id or default_agent
        return TurnScope(session_key=session_key or f"agent:{agent}:main", agent_id=agent)
