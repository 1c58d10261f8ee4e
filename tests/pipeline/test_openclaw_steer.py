"""Steering under the OpenClaw engine through the whole bus (issue 21, queue mode `steer`, the default):
a message sent while an OpenClaw turn of its session runs goes into that run, and the conversation gets
one answer for both — every stage a real process, the loopback AWS API, a real OpenClaw gateway.

The offline echo runs with the dev tool syntax, so `/exec {json}` makes OpenClaw run a shell command: the
turn's tool waits for the test to open a gate, so the second message arrives mid-turn without timing.
Needs Node 24 and OpenClaw (`CLAWBUS_TEST_OPENCLAW_RUNTIME`): skipped, saying so, without them.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.conftest import Bus, start_pipeline
from tests.helpers import NO_OPENCLAW, echo, eventually, openclaw_runtime
from tests.pipeline.webchat_client import first_texts, post

RUNTIME = openclaw_runtime()
if RUNTIME is None:
    pytest.skip(NO_OPENCLAW, allow_module_level=True)

OC = "openclaw"


def _logged(log: Path, event: str) -> bool:
    if not log.exists():
        return False
    lines = (json.loads(line) for line in log.read_text().splitlines() if line.startswith("{"))
    return any(line.get("event") == event for line in lines)


async def test_a_message_sent_mid_turn_is_steered_into_the_openclaw_run_and_answered_once(
    bus: Bus, tmp_path: Path, openclaw_lock: None
) -> None:
    agent_env = {
        "CLAWBUS_AGENT__ENGINE": "openclaw",
        "CLAWBUS_AGENT__OPENCLAW__RUNTIME_DIR": str(RUNTIME),
        "CLAWBUS_AGENT__DEV_TOOL_SYNTAX": "true",
        "CLAWBUS_LOCAL__DATA_DIR": str(tmp_path / "agent-data"),
    }
    env = {"CLAWBUS_SESSION__DM_SCOPE": "per-channel-peer"}  # queue mode: the default, steer
    pipeline = start_pipeline(bus, tmp_path / "logs", env, agent_env=agent_env)
    started, gate = tmp_path / "started", tmp_path / "gate"
    script = f"touch {started}; while [ ! -e {gate} ]; do sleep 0.1; done; echo opened"
    conversation = f"oc-steer-{uuid.uuid4().hex[:6]}"
    try:
        async with pipeline.webchat(timeout=30) as web:
            await post(web, conversation, "/exec " + json.dumps({"command": script}))

            async def tool_running() -> bool:
                return started.exists()

            await eventually(tool_running, timeout=240, what="the turn's tool running")
            await post(web, conversation, "and the weather?")

            async def at_the_gateway() -> bool:
                return _logged(pipeline.log_dir / "agent.log", "agent.openclaw.steer_sent")

            await eventually(at_the_gateway, timeout=60, what="the steer at the gateway")
            gate.touch()
            [steered] = await first_texts(web, conversation, 1)
            # a later message: a second answer to the steered one would come before its answer
            await post(web, conversation, "thanks")
            answers = await first_texts(web, conversation, 2)
    finally:
        codes = pipeline.stop()
    # the run answered the steered message (its model saw both: turn 2) and only once
    assert steered == echo("and the weather?", 2, OC)
    assert answers == [steered, echo("thanks", 3, OC)]
    assert all(code == 0 for _, code in codes), codes
