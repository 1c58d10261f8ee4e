"""Two agents on one bus: a binding sends Telegram to "work", WebChat stays with the default "home";
each answers from its own workspace. Every stage its own process, on the real loopback AWS API."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import FOLLOWUP, Bus, start_pipeline
from tests.helpers import eventually, post_telegram
from tests.ingress import payloads as p
from tests.pipeline.webchat_client import post, replies

TG_SECRET = "tg-webhook-secret"
BINDINGS = [{"agentId": "work", "match": {"channel": "telegram", "accountId": "*"}}]


async def test_two_agents_answer_two_channels_from_their_own_workspaces(bus: Bus, tmp_path: Path) -> None:
    env = {
        **FOLLOWUP,
        "CLAWBUS_SESSION__AGENT_ID": "home",
        "CLAWBUS_ROUTING__BINDINGS": json.dumps(BINDINGS),
        "CLAWBUS_TELEGRAM__BOT_TOKEN": p.BOT_TOKEN,
        "CLAWBUS_TELEGRAM__WEBHOOK_SECRET": TG_SECRET,
        "CLAWBUS_TELEGRAM__ALLOW_FROM": '["77"]',
    }
    workspace = tmp_path / "workspace"
    agent_env = {
        "CLAWBUS_AGENT__DEV_TOOL_SYNTAX": "true",
        "CLAWBUS_AGENT__WORKSPACE__BACKEND": "local",
        "CLAWBUS_AGENT__WORKSPACE__DIR": str(workspace),
    }
    pipeline = start_pipeline(bus, tmp_path / "logs", env, agent_env=agent_env)
    try:
        write = "/write " + json.dumps({"path": "NOTES.md", "content": "work secret"})
        update = p.telegram_message(user_id=77, chat_id=77, text=write)
        post_telegram(pipeline.ingress_url, update, TG_SECRET)
        notes = tmp_path / "workspace-work" / "NOTES.md"

        async def written() -> bool | None:
            return True if notes.exists() else None

        await eventually(written, timeout=60, interval=0.3, what="work's note")
        assert notes.read_text() == "work secret"
        async with pipeline.webchat(timeout=30) as client:
            await post(client, "home-chat", "/read " + json.dumps({"path": "NOTES.md"}))

            async def answered() -> list[str] | None:
                got = [m["text"] for m in await replies(client, "home-chat")]
                return got or None

            [reply] = await eventually(answered, timeout=60, interval=0.3, what="home's answer")
        assert "work secret" not in reply  # home reads its own workspace, which has no such note
        assert not (workspace / "NOTES.md").exists()
    finally:
        codes = pipeline.stop()
    assert all(code == 0 for _, code in codes), codes
    agent_log = (tmp_path / "logs" / "agent.log").read_text()
    assert '"agent.fleet.opened"' in agent_log
    assert '"agent": "work"' in agent_log or '"agent":"work"' in agent_log
