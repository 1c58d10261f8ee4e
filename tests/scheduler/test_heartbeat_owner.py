"""A heartbeat goes to its owner (OpenClaw's default `target: owner`), not to whoever wrote last.

clawbus's last route follows any trusted sender's DM: the owner's, and also that of a friend the
owner allowlisted or paired. Before `owner`, the owner's heartbeat (their reminders, their status)
went to the friend's chat when the friend had written last. The dispatcher gives the heartbeat its
delivery from its own settings (`commands.ownerAllowFrom`). Every stage a real process, the local firer
firing the schedule from the loopback Scheduler API, Telegram faked on loopback."""

from __future__ import annotations

import json
from pathlib import Path

from clawbus.bus.clients import CronClients, open_stage_clients
from clawbus.bus.settings import Settings
from clawbus.storage.cron.service import connect
from tests.conftest import FOLLOWUP, Bus, start_pipeline
from tests.fakes.platforms import FakePlatforms
from tests.helpers import eventually, post_telegram, stage
from tests.ingress import payloads as p

TG_SECRET = "hb-owner-telegram-secret"
OWNER, FRIEND = 42, 77
# The offline model answers a heartbeat poll by running HEARTBEAT.md's `/read` line: the beat says something.
CHECKLIST = '# Checks\n\n/read {"path": "STATUS.md"}\n'


async def test_the_heartbeat_reaches_the_owner_not_the_friend_who_wrote_last(
    bus: Bus, tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "HEARTBEAT.md").write_text(CHECKLIST)
    (workspace / "STATUS.md").write_text("owner's status: dentist at 9")
    agent_env = {
        "CLAWBUS_AGENT__DEV_TOOL_SYNTAX": "true",
        "CLAWBUS_AGENT__WORKSPACE__BACKEND": "local",
        "CLAWBUS_AGENT__WORKSPACE__DIR": str(workspace),
    }
    with FakePlatforms() as fake:
        env = {
            **FOLLOWUP,
            "CLAWBUS_TELEGRAM__BOT_TOKEN": p.BOT_TOKEN,
            "CLAWBUS_TELEGRAM__WEBHOOK_SECRET": TG_SECRET,
            "CLAWBUS_TELEGRAM__ALLOW_FROM": json.dumps([str(FRIEND), str(OWNER)]),
            "CLAWBUS_TELEGRAM__API_BASE": fake.api_base("telegram"),
            # The heartbeat's target is the default, `owner`.
            "CLAWBUS_COMMANDS__OWNER_ALLOW_FROM": json.dumps([f"telegram:{OWNER}"]),
        }
        pipeline = start_pipeline(bus, tmp_path / "logs", env, channels=("telegram",), agent_env=agent_env)
        try:
            # Only the friend writes: their DM becomes the agent's last route.
            update = p.telegram_message(user_id=FRIEND, chat_id=FRIEND, text="hi there", update_id=5001)
            post_telegram(pipeline.ingress_url, update, TG_SECRET)

            async def friend_answered() -> bool:
                return any(str(c.body.get("chat_id")) == str(FRIEND) for c in fake.sent("telegram"))

            await eventually(friend_answered, timeout=60, interval=0.3, what="the friend's answer")
            before = len(fake.sent("telegram"))
            settings = Settings.model_validate(
                {
                    "aws": {"endpoint_url": bus.endpoint, "region": "us-east-1"},
                    "bus": {"prefix": bus.prefix},
                    "heartbeat": {"every": "1m"},
                }
            )
            async with open_stage_clients(settings, CronClients) as clients:
                await (await connect(settings, clients)).apply_heartbeats(settings.heartbeat)
            firer_env = {"CLAWBUS_SCHEDULER__TEST_CLOCK_OFFSET_S": "61", "CLAWBUS_SCHEDULER__TICK_S": "0.5"}
            pipeline.supervisor.start(stage("scheduler", "scheduler.started", "scheduler", env=firer_env))

            async def beat() -> list[tuple[str, str]] | None:
                sent = [(str(c.body.get("chat_id")), str(c.body.get("text"))) for c in fake.sent("telegram")]
                return sent[before:] or None

            beats = await eventually(beat, timeout=60, interval=0.3, what="the heartbeat delivered")
        finally:
            codes = pipeline.stop()
    assert all(code == 0 for _, code in codes), codes
    assert [chat for chat, _ in beats] == [str(OWNER)]
    assert "dentist at 9" in beats[0][1]
