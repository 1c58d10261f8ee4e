"""clawbus session keys as OpenClaw's chat-completions API accepts them (pure)."""

from __future__ import annotations

import pytest

from clawbus.agent.engines.openclaw.active_turns import ActiveTurns
from clawbus.agent.engines.openclaw.session_keys import gateway_session_key
from clawbus.agent.tools.scope import TurnScope


@pytest.mark.parametrize(
    ("key", "sent"),
    [
        ("agent:main:cron:5bcc85fc", "agent:main:clawbus-cron:5bcc85fc"),  # a cron job's isolated runs
        ("agent:work:Subagent:x", "agent:work:clawbus-Subagent:x"),
        ("agent:main:acp:run-1", "agent:main:clawbus-acp:run-1"),
        ("cron:legacy", "clawbus-cron:legacy"),
        ("agent:main:main", "agent:main:main"),
        ("agent:main:webchat:direct:conv-1", "agent:main:webchat:direct:conv-1"),
        ("agent:main:telegram:group:-100:topic:cron", "agent:main:telegram:group:-100:topic:cron"),
    ],
)
def test_only_keys_in_openclaws_reserved_namespaces_are_renamed(key: str, sent: str) -> None:
    assert gateway_session_key(key) == sent


def test_a_cron_call_from_a_cron_jobs_turn_finds_that_turn() -> None:
    turns = ActiveTurns()
    scope = TurnScope(session_key="agent:main:cron:5bcc85fc", agent_id="main", trusted=True)
    with turns.running(scope):  # the plugin reports the key the gateway ran the turn on
        assert turns.scope_for("agent:main:clawbus-cron:5bcc85fc", "main", "main") is scope
