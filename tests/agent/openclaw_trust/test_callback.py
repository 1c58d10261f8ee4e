"""The trust callback the OpenClaw plugin asks before each turn, served on loopback: a trusted turn keeps
its tools, any other (a group, a stranger, a session with no running turn) gets the untrusted list."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from clawbus.agent.engines.openclaw.active_turns import ActiveTurns
from clawbus.agent.engines.openclaw.trust.callback import TrustCallback, serve_trust_callback
from clawbus.agent.tools.scope import TurnScope
from clawbus.bus.settings import Settings

OWNER = TurnScope(session_key="agent:main:main", agent_id="main", trusted=True)
STRANGER = TurnScope(session_key="agent:main:telegram:direct:42", agent_id="main", trusted=False)
WEB = ["web_search", "x_search", "web_fetch"]


@pytest.fixture
async def served() -> AsyncIterator[tuple[TrustCallback, ActiveTurns]]:
    turns = ActiveTurns()
    async with serve_trust_callback(Settings(), turns) as callback:
        yield callback, turns


async def ask(callback: TrustCallback, session_key: str, token: str | None = None) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(
            callback.url,
            json={"sessionKey": session_key, "agentId": "main"},
            headers={"authorization": f"Bearer {token or callback.token}"},
        )


async def test_a_trusted_turn_keeps_its_tools_and_an_untrusted_one_gets_the_web_tools(served: Any) -> None:
    callback, turns = served
    with turns.running(OWNER), turns.running(STRANGER):
        owner = (await ask(callback, OWNER.session_key)).json()
        stranger = (await ask(callback, STRANGER.session_key)).json()
    assert owner == {"trusted": True}
    assert stranger == {"trusted": False, "toolsAllow": WEB}


async def test_a_session_with_no_running_turn_is_untrusted(served: Any) -> None:
    callback, turns = served
    with turns.running(OWNER):
        pass
    assert (await ask(callback, OWNER.session_key)).json() == {"trusted": False, "toolsAllow": WEB}


async def test_a_caller_without_the_token_gets_401(served: Any) -> None:
    callback, turns = served
    with turns.running(OWNER):
        response = await ask(callback, OWNER.session_key, token="guess")
    assert response.status_code == 401
    assert "trusted" not in response.json()
