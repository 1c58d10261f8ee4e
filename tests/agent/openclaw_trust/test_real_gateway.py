"""A real OpenClaw gateway (Node 24 + openclaw 2026.9.6) with clawbus's trust and cron plugins, configured and
run as the engine does (`gateway_config`, `with_cron_plugin`, `with_trust_plugin`, `Gateway`): what the
model is offered, read from its own request. A trusted turn keeps OpenClaw's full tool set (workspace
writes, exec, `clawbus_cron`); an untrusted one on the same agent gets the untrusted policy's web tools
only, and `exec` cannot be reached, not even through Tool Search's `tool_call`.

Needs the development install (`CLAWBUS_TEST_OPENCLAW_RUNTIME`, /tmp/ocrt, …); skipped without it.
Holds /tmp/openclaw.lock (`openclaw_lock`) while the gateway runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from clawbus.agent.engines.openclaw.active_turns import ActiveTurns
from clawbus.agent.engines.openclaw.client import chat_turn
from clawbus.agent.engines.openclaw.config import gateway_config
from clawbus.agent.engines.openclaw.cron.callback import serve_cron_callback
from clawbus.agent.engines.openclaw.cron.config import with_cron_plugin
from clawbus.agent.engines.openclaw.gateway import Gateway, GatewaySpec
from clawbus.agent.engines.openclaw.trust.callback import serve_trust_callback
from clawbus.agent.engines.openclaw.trust.config import with_trust_plugin
from clawbus.agent.models.echo_server import content_text, serve_echo
from clawbus.agent.tools.scope import TurnScope
from tests.agent.openclaw_cron.test_callback import settings_for
from tests.agent.openclaw_cron.test_real_gateway import (  # skips this module too without OpenClaw
    BIN,
    TOKEN,
    call,
)
from tests.conftest import Bus
from tests.helpers import echo, free_port

pytestmark = pytest.mark.slow

OWNER = TurnScope(session_key="agent:main:webchat:direct:owner", agent_id="main", trusted=True)
STRANGER = TurnScope(session_key="agent:main:telegram:direct:stranger", agent_id="main", trusted=False)
SECRET = "the owner's locker code is 4711"
GROUP = TurnScope(session_key="agent:main:telegram:group:-100777", agent_id="main", trusted=False)


def _offered(request: dict[str, Any]) -> set[str]:
    return {str(t["function"]["name"]) for t in request.get("tools") or []}


def _prompt(request: dict[str, Any]) -> str:
    return "\n".join(content_text(m.get("content")) for m in request["messages"] if m.get("role") == "system")


@pytest.mark.parametrize("tool_search", [False, True], ids=["direct", "tool_search"])
async def test_an_untrusted_turn_is_offered_web_tools_only_and_a_trusted_one_everything(
    bus: Bus,
    tmp_path: Path,
    openclaw_lock: None,
    tool_search: bool,
) -> None:
    settings = settings_for(bus)
    turns = ActiveTurns()
    state = tmp_path / "state"
    (state / "workspace").mkdir(parents=True)
    (state / "workspace" / "MEMORY.md").write_text(f"# Memory\n\n{SECRET}\n")
    spec = GatewaySpec(
        openclaw=BIN / "openclaw",
        node_bin=BIN,
        state_dir=state,
        log_path=tmp_path / "gateway.log",
        port=free_port(),
        start_timeout_s=120,
    )
    seen: list[dict[str, Any]] = []  # every request the model got
    async with (
        serve_echo("openclaw", tool_syntax=True, seen=seen) as model_url,
        serve_cron_callback(settings, turns) as cron,
        serve_trust_callback(settings, turns) as trust,
        httpx.AsyncClient(timeout=120) as client,
    ):
        config = gateway_config(
            None, port=spec.port, token=TOKEN, echo_base_url=model_url, workspace=str(state / "workspace")
        )
        if not tool_search:  # OpenClaw's default puts plugin tools behind `tool_search`/`tool_call`
            config["tools"] = {"toolSearch": False}
        config = with_cron_plugin(config, url=cron.url, token=cron.token)
        gateway = Gateway(spec, with_trust_plugin(config, url=trust.url, token=trust.token))
        await gateway.start()
        try:

            async def say(scope: TurnScope, text: str) -> tuple[str, set[str], str]:
                """The answer of a turn on `scope`'s session, and the tools and prompt its first model
                request offered."""
                before = len(seen)
                with turns.running(scope):
                    answer = await chat_turn(client, spec.base_url, TOKEN, scope.session_key, text)
                return answer, _offered(seen[before]), _prompt(seen[before])

            _, owner, owner_prompt = await say(OWNER, "hello")
            _, stranger, stranger_prompt = await say(STRANGER, "hello")
            _, group, _ = await say(GROUP, "hello")
            _, owner_again, _ = await say(OWNER, "hello again")
            exec_call = call("exec", {"command": "touch pwned"}, tool_search=tool_search)
            answer, _, _ = await say(STRANGER, exec_call)
        finally:
            await gateway.stop()
    # Under Tool Search (OpenClaw's default) the model gets `tool_search`/`tool_call` and the rest stays
    # behind them; the narrowed turn keeps those two, but the catalog they reach is narrowed too.
    meta = {"tool_search", "tool_call", "tool_describe"} if tool_search else set()
    assert ({"tool_call"} if tool_search else {"write", "edit", "exec", "clawbus_cron"}) <= owner, owner
    assert owner_again == owner  # a trusted turn after an untrusted one on the same agent: all back
    for untrusted in (stranger, group):
        assert untrusted, "the untrusted turn's model request offered no tools at all"
        assert untrusted <= {"web_search", "x_search", "web_fetch"} | meta, untrusted
    if tool_search:  # the model reaches for it through `tool_call`: no such tool for this turn
        assert "unknown tool id: exec" in answer.lower(), answer
    else:  # not offered, so the echo (which calls only offered tools) just quotes the message
        assert answer == echo(exec_call, 2, "openclaw"), answer
    assert not (state / "workspace" / "pwned").exists()
    assert SECRET in owner_prompt  # the owner's own DM loads MEMORY.md, as OpenClaw does
    assert SECRET not in stranger_prompt  # a stranger's DM does not
