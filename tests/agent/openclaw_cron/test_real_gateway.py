"""A real OpenClaw gateway (Node 24 + openclaw 2026.9.6) with clawbus's cron plugin, configured as the engine
configures it (`gateway_config` + `with_cron_plugin`, run by `Gateway`): the offline echo with the dev tool
syntax makes the agent add a job, which lands in clawbus's cron service on the loopback AWS (announcing
back to the conversation), and `list` shows it. OpenClaw's own `cron` tool is not offered.

Needs the development install (`CLAWBUS_TEST_OPENCLAW_RUNTIME`, default /tmp/ocrt, an npm prefix holding
`node` and `openclaw`); skipped without it. Holds /tmp/openclaw.lock (`openclaw_lock`) while the gateway
runs.
"""

from __future__ import annotations

import json
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
from clawbus.agent.models.echo_server import serve_echo
from clawbus.bus.clients import CronClients, open_stage_clients
from clawbus.storage.cron.service import connect
from tests.agent.openclaw_cron.test_callback import JOB, WEBCHAT, settings_for
from tests.conftest import Bus
from tests.helpers import NO_OPENCLAW, echo, free_port, openclaw_runtime

RUNTIME = openclaw_runtime()
if RUNTIME is None:
    pytest.skip(NO_OPENCLAW, allow_module_level=True)
BIN = RUNTIME / "node_modules" / ".bin"
TOKEN = "gateway-test-token"

pytestmark = pytest.mark.slow


def call(tool: str, args: dict[str, Any], *, tool_search: bool) -> str:
    """The message that makes the echo call `tool` (through `tool_call` under Tool Search)."""
    if tool_search:
        return "/tool_call " + json.dumps({"id": tool, "args": args})
    return f"/{tool} " + json.dumps(args)


@pytest.mark.parametrize("tool_search", [False, True], ids=["direct", "tool_search"])
async def test_the_agent_adds_a_job_through_openclaw_and_it_lands_in_clawbus_cron(
    bus: Bus, tmp_path: Path, openclaw_lock: None, tool_search: bool
) -> None:
    settings = settings_for(bus)
    turns = ActiveTurns()
    state = tmp_path / "state"
    spec = GatewaySpec(
        openclaw=BIN / "openclaw",
        node_bin=BIN,
        state_dir=state,
        log_path=tmp_path / "gateway.log",
        port=free_port(),
        start_timeout_s=120,
    )
    async with (
        serve_echo("openclaw", tool_syntax=True) as model_url,
        serve_cron_callback(settings, turns) as callback,
        open_stage_clients(settings, CronClients) as clients,
        httpx.AsyncClient(timeout=120) as client,
    ):
        config = gateway_config(
            None, port=spec.port, token=TOKEN, echo_base_url=model_url, workspace=str(state / "workspace")
        )
        if not tool_search:  # OpenClaw's default puts plugin tools behind `tool_search`/`tool_call`
            config["tools"] = {"toolSearch": False}
        gateway = Gateway(spec, with_cron_plugin(config, url=callback.url, token=callback.token))
        await gateway.start()
        try:

            async def say(text: str) -> str:
                return await chat_turn(client, spec.base_url, TOKEN, WEBCHAT.session_key, text)

            with turns.running(WEBCHAT):
                added = await say(
                    call("clawbus_cron", {"action": "add", "job": JOB}, tool_search=tool_search)
                )
                listed = await say(call("clawbus_cron", {"action": "list"}, tool_search=tool_search))
                builtin = await say('/cron {"action": "list"}')
        finally:
            await gateway.stop()
        service = await connect(settings, clients)
        [job] = await service.list_jobs()
    assert "Tool clawbus_cron not found" not in added, added
    assert job.name == "stretch"
    assert job.delivery is not None
    assert (job.delivery.channel, job.delivery.to) == ("webchat", "conv-1")
    assert job.id in listed, listed
    # OpenClaw's own cron is denied: the model is not offered it, so the echo quotes the message back
    assert builtin == echo('/cron {"action": "list"}', 3, "openclaw")
