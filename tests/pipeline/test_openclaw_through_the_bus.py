"""OpenClaw as the brain behind the whole bus: what the agent does in one session reaches the others, and the
scheduler drives it — every stage a real process, the loopback AWS API, a real OpenClaw gateway.

The offline echo runs with the dev tool syntax (`CLAWBUS_AGENT__DEV_TOOL_SYNTAX`), so a WebChat message
`/<tool> {json}` makes OpenClaw call that tool. WebChat turns carry the run's token: the owner's, trusted.

Needs Node 24 and OpenClaw (`CLAWBUS_TEST_OPENCLAW_RUNTIME`, /tmp/ocrt or the one `up --engine openclaw`
installed; CI's `.ci/run` installs it): skipped, saying so, without them. The OpenClaw engine's short form
in the default suite (~1 min: one gateway start, ~1 GB); `-m slow` adds the restart and bench forms
(tests/pipeline/test_up_openclaw.py) and the real-gateway plugin and state tests under tests/agent.
"""

from __future__ import annotations

import json
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from clawbus.agent.engines.openclaw_state.stored_state import full_history
from clawbus.agent.runtime import open_session_stores, open_workspace_store
from clawbus.bus.clients import CronClients, open_stage_clients
from clawbus.bus.logging import session_ref
from clawbus.bus.settings import Settings
from clawbus.storage import SessionRef
from clawbus.storage.cron.service import connect
from tests.conftest import FOLLOWUP, Bus, start_pipeline
from tests.helpers import NO_OPENCLAW, echo, eventually, openclaw_runtime, stage, wait_for
from tests.pipeline.webchat_client import first_texts, post, replies

RUNTIME = openclaw_runtime()
if RUNTIME is None:
    pytest.skip(NO_OPENCLAW, allow_module_level=True)

CHECKLIST = "- water the plants"


def _log_events(log: Path, event: str) -> list[dict[str, object]]:
    if not log.exists():
        return []
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == event]


async def test_workspace_edits_cross_sessions_and_heartbeat_and_agent_cron_fire_from_the_scheduler(
    bus: Bus, tmp_path: Path, openclaw_lock: None
) -> None:
    data = tmp_path / "agent-data"
    settings = Settings.model_validate(
        {
            "aws": {"endpoint_url": bus.endpoint, "region": "us-east-1"},
            "bus": {"prefix": bus.prefix},
            "local": {"data_dir": str(data)},
            "heartbeat": {"every": "1m"},
        }
    )
    async with AsyncExitStack() as stack:
        store = await open_workspace_store(settings, stack, "main")
        await store.write("HEARTBEAT.md", f"# Heartbeat\n\n{CHECKLIST}\n")
    agent_env = {
        "CLAWBUS_AGENT__ENGINE": "openclaw",
        "CLAWBUS_AGENT__OPENCLAW__RUNTIME_DIR": str(RUNTIME),
        "CLAWBUS_AGENT__DEV_TOOL_SYNTAX": "true",
        "CLAWBUS_LOCAL__DATA_DIR": str(data),
    }
    pipeline = start_pipeline(bus, tmp_path / "logs", FOLLOWUP, agent_env=agent_env)
    try:
        a, b = f"oc-a-{uuid.uuid4().hex[:6]}", f"oc-b-{uuid.uuid4().hex[:6]}"
        async with pipeline.webchat(timeout=30) as web:
            # A workspace edit made through the agent in one session...
            await post(web, a, '/write {"path": "notes/shared.md", "content": "the whale is blue"}')
            [wrote] = await first_texts(web, a, 1)
            # ...is in the storage layer and seen by another session
            await post(web, b, '/read {"path": "notes/shared.md"}')
            [read] = await first_texts(web, b, 1)

            # A MEDIA: line in OpenClaw's answer goes out as a file (issue 20): the echo repeats the
            # message, so its answer carries the lines; one names a workspace file, one a host file.
            await post(web, b, "the notes\nMEDIA:./notes/shared.md\nMEDIA:/etc/passwd")

            async def with_file() -> list[dict[str, object]] | None:
                got = await replies(web, b, wait=5)
                return got if any("media" in m for m in got) else None

            answered = (await eventually(with_file, timeout=240, what="the file OpenClaw named"))[1:]
            [attached] = [m["media"] for m in answered if "media" in m]
            assert isinstance(attached, dict)
            downloaded = (await web.get(str(attached["url"]))).content

            # The agent creates a cron job (a plugin tool: behind OpenClaw's Tool Search)
            # far enough ahead that a loaded machine's slow turn still adds it in the future; the firer
            # below runs 61 s ahead, so it is due at once
            at = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()
            job = {"name": "stretch", "schedule": {"kind": "at", "at": at}}
            job["payload"] = {"kind": "agentTurn", "message": "stand up"}
            add = {"id": "clawbus_cron", "args": {"action": "add", "job": job}}
            await post(web, a, "/tool_call " + json.dumps(add))
            added = json.loads((await first_texts(web, a, 2))[1])  # tool_call's answer wraps the tool's
            result = json.loads(added["result"]["content"][0]["text"])
            assert (added["tool"]["name"], result["ok"]) == ("clawbus_cron", True), added
            job_id = result["job"]["id"]

            async with open_stage_clients(settings, CronClients) as clients:
                await (await connect(settings, clients)).apply_heartbeats(settings.heartbeat)
            firer_env = {"CLAWBUS_SCHEDULER__TEST_CLOCK_OFFSET_S": "61", "CLAWBUS_SCHEDULER__TICK_S": "0.5"}
            pipeline.supervisor.start(stage("scheduler", "scheduler.started", "scheduler", env=firer_env))
            fired = (await first_texts(web, a, 3))[2]

        def heartbeat_turns() -> list[dict[str, object]]:
            turns = _log_events(pipeline.log_dir / "agent.log", "agent.turn.completed")
            return [t for t in turns if t.get("session") == session_ref("agent:main:main")]

        [heartbeat] = wait_for(heartbeat_turns, timeout=60, what="the heartbeat's turn")
        async with AsyncExitStack() as stack:
            read_back = await (await open_workspace_store(settings, stack, "main")).read("notes/shared.md")
            transcripts, sessions, _recall = await open_session_stores(settings, stack)
            main = await sessions.get("main", "agent:main:main")
            assert main is not None
            history = await full_history(transcripts, SessionRef("main", main.session_id))
    finally:
        codes = pipeline.stop()
    assert "notes/shared.md" in wrote, wrote
    assert "the whale is blue" in read, read
    texts = [str(m["text"]) for m in answered if "media" not in m]
    assert texts[0] == echo("the notes", 2, "openclaw")  # the MEDIA: lines left the text
    assert texts[1] == (
        "⚠️ Could not send /etc/passwd: it is outside the workspace (only workspace files can be sent)."
    )
    assert attached["name"] == "shared.md"
    assert b"the whale is blue" in downloaded
    assert read_back is not None
    assert "the whale is blue" in read_back.text
    assert fired == echo(f"[cron:{job_id} stretch] stand up", 1, "openclaw")
    # The heartbeat ran as an OpenClaw turn on the main session with HEARTBEAT.md's checklist, and its
    # HEARTBEAT_OK was kept in the session's stored history but never delivered (a's chat holds 3 replies).
    assert (heartbeat["status"], str(heartbeat["model"]).split("/")[0]) == ("ok", "openclaw")
    assert heartbeat["parts"] == 0
    said = json.dumps(history)
    assert CHECKLIST in said
    assert "HEARTBEAT_OK" in said
    assert all(code == 0 for _, code in codes), codes
