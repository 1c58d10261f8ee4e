"""A real OpenClaw gateway (Node 24 + openclaw 2026.9.6) with clawbus's trust and cron plugins: what the
model is offered, read from its own request. A trusted turn keeps OpenClaw's full tool set (workspace
writes, exec, `clawbus_cron`); an untrusted one on the same agent gets the untrusted policy's web tools
only, and a call to `exec` finds no such tool.

Needs the development install (`CLAWBUS_TEST_OPENCLAW_RUNTIME`, default /tmp/ocrt); skipped without it.
Holds /tmp/openclaw.lock while the gateway runs.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from clawbus.agent.engines.openclaw.active_turns import ActiveTurns
from clawbus.agent.engines.openclaw.cron.callback import serve_cron_callback
from clawbus.agent.engines.openclaw.cron.config import with_cron_plugin
from clawbus.agent.engines.openclaw.trust.callback import serve_trust_callback
from clawbus.agent.engines.openclaw.trust.config import with_trust_plugin
from clawbus.agent.tools.scope import TurnScope

from ...conftest import Bus
from ...helpers import eventually, free_port
from ..openclaw_cron.test_callback import settings_for
from ..openclaw_cron.test_real_gateway import (  # noqa: F401 (fixtures)
    GATEWAY_TOKEN,
    NODE,
    OPENCLAW,
    OPENCLAW_DIR,
    call,
    gateway_config,
    model_url,
    openclaw_lock,
    stop,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (NODE.exists() and OPENCLAW.exists()), reason=f"no OpenClaw under {OPENCLAW_DIR}"),
]

OWNER = TurnScope(session_key="agent:main:webchat:direct:owner", agent_id="main", trusted=True)
STRANGER = TurnScope(session_key="agent:main:telegram:direct:stranger", agent_id="main", trusted=False)
SECRET = "the owner's locker code is 4711"
GROUP = TurnScope(session_key="agent:main:telegram:group:-100777", agent_id="main", trusted=False)


@pytest.mark.parametrize("tool_search", [False, True], ids=["direct", "tool_search"])
async def test_an_untrusted_turn_is_offered_web_tools_only_and_a_trusted_one_everything(
    bus: Bus,
    model_url: str,  # noqa: F811
    tmp_path: Path,
    openclaw_lock: None,  # noqa: F811 (fixtures imported from the cron test)
    tool_search: bool,
) -> None:
    settings = settings_for(bus)
    turns = ActiveTurns()
    state = tmp_path / "state"
    state.mkdir()
    port = free_port()
    async with (
        serve_cron_callback(settings, turns) as cron,
        serve_trust_callback(settings, turns) as trust,
    ):
        config = gateway_config(port, model_url, state, tool_search=tool_search)
        config = with_cron_plugin(config, url=cron.url, token=cron.token)
        config = with_trust_plugin(config, url=trust.url, token=trust.token)
        (state / "workspace").mkdir()
        (state / "workspace" / "MEMORY.md").write_text(f"# Memory\n\n{SECRET}\n")
        (state / "openclaw.json").write_text(json.dumps(config))
        env = {
            **os.environ,
            "HOME": str(tmp_path),
            "OPENCLAW_STATE_DIR": str(state),
            "OPENCLAW_CONFIG_PATH": str(state / "openclaw.json"),
        }
        log = (tmp_path / "gateway.log").open("wb")
        gateway = subprocess.Popen(
            [str(NODE), str(OPENCLAW), "gateway", "run"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            async with (
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as client,
                httpx.AsyncClient(base_url=model_url.removesuffix("/v1"), timeout=10) as model,
            ):

                async def healthy() -> bool:
                    try:
                        return (await client.get("/health")).status_code == 200
                    except httpx.TransportError:
                        return False

                await eventually(healthy, timeout=90, interval=0.5, what="the OpenClaw gateway")

                async def say(scope: TurnScope, text: str) -> tuple[str, set[str], str]:
                    """The answer of a turn on `scope`'s session, and the tools and prompt its model
                    request offered."""
                    with turns.running(scope):
                        response = await client.post(
                            "/v1/chat/completions",
                            json={"model": "openclaw", "messages": [{"role": "user", "content": text}]},
                            headers={
                                "authorization": f"Bearer {GATEWAY_TOKEN}",
                                "x-openclaw-session-key": scope.session_key,
                            },
                        )
                    assert response.status_code == 200, response.text
                    offered = set((await model.get("/tools")).json())
                    prompt = "\n".join((await model.get("/prompt")).json())
                    return str(response.json()["choices"][0]["message"]["content"]), offered, prompt

                _, owner, owner_prompt = await say(OWNER, "hello")
                _, stranger, stranger_prompt = await say(STRANGER, "hello")
                _, group, _ = await say(GROUP, "hello")
                _, owner_again, _ = await say(OWNER, "hello again")
                answer, _, _ = await say(
                    STRANGER, call("exec", {"command": "touch pwned"}, tool_search=tool_search)
                )
        finally:
            stop(gateway)
    # Under Tool Search (OpenClaw's default) the model gets `tool_search`/`tool_call` and the rest stays
    # behind them; the narrowed turn keeps those two, but the catalog they reach is narrowed too.
    meta = {"tool_search", "tool_call", "tool_describe"} if tool_search else set()
    assert ({"tool_call"} if tool_search else {"write", "edit", "exec", "clawbus_cron"}) <= owner, owner
    assert owner_again == owner  # a trusted turn after an untrusted one on the same agent: all back
    for untrusted in (stranger, group):
        assert untrusted, "the untrusted turn's model request offered no tools at all"
        assert untrusted <= {"web_search", "x_search", "web_fetch"} | meta, untrusted
    # no such tool for this turn: "Tool exec not found" (direct), "Unknown tool id: exec" (Tool Search)
    assert "tool exec not found" in answer.lower() or "unknown tool id: exec" in answer.lower(), answer
    assert not (state / "workspace" / "pwned").exists()
    assert SECRET in owner_prompt  # the owner's own DM loads MEMORY.md, as OpenClaw does
    assert SECRET not in stranger_prompt  # a stranger's DM does not
