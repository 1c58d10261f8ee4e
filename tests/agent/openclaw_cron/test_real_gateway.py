"""A real OpenClaw gateway (Node 24 + openclaw 2026.9.6) with clawbus's cron plugin: a scripted model makes
the agent add a job, which lands in clawbus's cron service on the loopback AWS (announcing back to the
conversation), and `list` shows it. OpenClaw's own `cron` tool is not offered.

Needs the development install (`CLAWBUS_TEST_OPENCLAW_RUNTIME`, default /tmp/ocrt, holding node_modules with
`node` and `openclaw`); skipped without it. Holds /tmp/openclaw.lock while the gateway runs.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from clawbus.agent.engines.openclaw.active_turns import ActiveTurns
from clawbus.agent.engines.openclaw.cron.callback import serve_cron_callback
from clawbus.agent.engines.openclaw.cron.config import with_cron_plugin
from clawbus.bus.aws import open_clients
from clawbus.bus.cron.service import connect

from ...conftest import Bus
from ...helpers import eventually, free_port, wait_for
from .test_callback import JOB, WEBCHAT, settings_for

ROOT = Path(__file__).resolve().parents[3]
OPENCLAW_DIR = Path(os.environ.get("CLAWBUS_TEST_OPENCLAW_RUNTIME", "/tmp/ocrt")) / "node_modules"
NODE = OPENCLAW_DIR / "node" / "bin" / "node"
OPENCLAW = OPENCLAW_DIR / "openclaw" / "openclaw.mjs"
GATEWAY_TOKEN = "gateway-test-token"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (NODE.exists() and OPENCLAW.exists()), reason=f"no OpenClaw under {OPENCLAW_DIR}"),
]


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process and its children (the gateway spawns workers), hard after 10 s."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture
def model_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "model.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.openai_tool_model", str(port)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(lambda: _up(port), what="the scripted model")
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        stop(process)


def _up(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/tools", timeout=1)
    except httpx.TransportError:
        return False
    return True


def gateway_config(port: int, model_url: str, state: Path, *, tool_search: bool) -> dict[str, Any]:
    """The engine's generated config, as issue 17 describes it, plus what this test needs."""
    return {
        "gateway": {
            "mode": "local",
            "bind": "loopback",
            "port": port,
            "auth": {"mode": "token", "token": GATEWAY_TOKEN},
            "controlUi": {"enabled": False},
            "http": {"endpoints": {"chatCompletions": {"enabled": True}}},
        },
        "update": {"checkOnStart": False},
        "models": {
            "catalogRefresh": {"enabled": False},
            "mode": "merge",
            "providers": {
                "fake": {
                    "baseUrl": model_url,
                    "apiKey": "none",
                    "api": "openai-completions",
                    "models": [
                        {"id": "tools", "name": "tools", "contextWindow": 1_000_000, "maxTokens": 4096}
                    ],
                }
            },
        },
        "agents": {"defaults": {"model": {"primary": "fake/tools"}, "workspace": str(state / "workspace")}},
        "cron": {"enabled": False},
        # Tool Search (OpenClaw's default) puts plugin tools behind `tool_search`/`tool_call`; off, the
        # model gets `clawbus_cron`'s schema directly.
        "tools": {} if tool_search else {"toolSearch": False},
    }


def call(tool: str, args: dict[str, Any], *, tool_search: bool) -> str:
    """The message that makes the scripted model call `tool` (through `tool_call` under Tool Search)."""
    if tool_search:
        return "/tool tool_call " + json.dumps({"id": tool, "args": args})
    return f"/tool {tool} " + json.dumps(args)


@pytest.fixture
def openclaw_lock() -> Iterator[None]:
    with open("/tmp/openclaw.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.mark.parametrize("tool_search", [False, True], ids=["direct", "tool_search"])
async def test_the_agent_adds_a_job_through_openclaw_and_it_lands_in_clawbus_cron(
    bus: Bus, model_url: str, tmp_path: Path, openclaw_lock: None, tool_search: bool
) -> None:
    settings = settings_for(bus)
    turns = ActiveTurns()
    state = tmp_path / "state"
    state.mkdir()
    port = free_port()
    async with (
        serve_cron_callback(settings, turns) as callback,
        open_clients(settings, "scheduler", "dynamodb", "sqs") as clients,
    ):
        config = with_cron_plugin(
            gateway_config(port, model_url, state, tool_search=tool_search),
            url=callback.url,
            token=callback.token,
        )
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
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:

                async def healthy() -> bool:
                    try:
                        return (await client.get("/health")).status_code == 200
                    except httpx.TransportError:
                        return False

                await eventually(healthy, timeout=90, interval=0.5, what="the OpenClaw gateway")

                async def say(text: str) -> str:
                    response = await client.post(
                        "/v1/chat/completions",
                        json={"model": "openclaw", "messages": [{"role": "user", "content": text}]},
                        headers={
                            "authorization": f"Bearer {GATEWAY_TOKEN}",
                            "x-openclaw-session-key": WEBCHAT.session_key,
                        },
                    )
                    assert response.status_code == 200, response.text
                    return str(response.json()["choices"][0]["message"]["content"])

                with turns.running(WEBCHAT):
                    added = await say(
                        call("clawbus_cron", {"action": "add", "job": JOB}, tool_search=tool_search)
                    )
                    listed = await say(call("clawbus_cron", {"action": "list"}, tool_search=tool_search))
                    builtin = await say('/tool cron {"action": "list"}')
        finally:
            stop(gateway)
        service = await connect(settings, clients)
        [job] = await service.list_jobs()
    assert "Tool clawbus_cron not found" not in added, added
    assert job.name == "stretch"
    assert job.delivery is not None
    assert (job.delivery.channel, job.delivery.to) == ("webchat", "conv-1")
    assert job.id in listed, listed
    assert builtin == "tool cron said: Tool cron not found"  # OpenClaw's own is denied: nothing in its store
