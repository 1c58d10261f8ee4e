"""Two agents, two heartbeats (OpenClaw's `agents.entries.<id>.heartbeat`): each agent's schedule fires its
own heartbeat, which reads its own workspace's HEARTBEAT.md and is delivered where its target says: the
owner's DM for one, its own last route (the chat its user last wrote to it from) for the other. Every
stage a real process, the local firer firing the schedules from the loopback Scheduler API, Telegram
faked on loopback. The offline model (with the test tool syntax) answers a heartbeat poll by running the
`/read {...}` line of HEARTBEAT.md, so what arrives shows which workspace the heartbeat read."""

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

TG_SECRET = "hb-agents-telegram-secret"
HOME_USER, WORK_USER = 42, 77
# Telegram user 77 talks to "work"; everybody else to the default agent, "home".
BINDINGS = [{"agentId": "work", "match": {"channel": "telegram", "peer": {"kind": "direct", "id": "77"}}}]
# home: the default target, the owner (the first allowFrom entry: 42); work: its own last route, the chat
# of the user bound to it (77).
HEARTBEATS: dict[str, dict[str, str]] = {"home": {}, "work": {"target": "last"}}
CHECKLIST = '# Checks\n\n/read {"path": "STATUS.md"}\n'


def _workspace(root: Path, status: str) -> None:
    root.mkdir(parents=True)
    (root / "HEARTBEAT.md").write_text(CHECKLIST)
    (root / "STATUS.md").write_text(status)


async def test_each_agent_beats_from_its_own_workspace_into_its_own_chat(bus: Bus, tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    _workspace(workspace, "home status: the plants need water")
    _workspace(tmp_path / "workspace-work", "work status: the build is red")
    with FakePlatforms() as fake:
        env = {
            **FOLLOWUP,
            "CLAWBUS_SESSION__AGENT_ID": "home",
            "CLAWBUS_ROUTING__BINDINGS": json.dumps(BINDINGS),
            "CLAWBUS_TELEGRAM__BOT_TOKEN": p.BOT_TOKEN,
            "CLAWBUS_TELEGRAM__WEBHOOK_SECRET": TG_SECRET,
            "CLAWBUS_TELEGRAM__ALLOW_FROM": json.dumps([str(HOME_USER), str(WORK_USER)]),
            "CLAWBUS_TELEGRAM__API_BASE": fake.api_base("telegram"),
            "CLAWBUS_HEARTBEAT__AGENTS": json.dumps(HEARTBEATS),  # the dispatcher resolves the targets
        }
        agent_env = {
            "CLAWBUS_AGENT__DEV_TOOL_SYNTAX": "true",
            "CLAWBUS_AGENT__WORKSPACE__BACKEND": "local",
            "CLAWBUS_AGENT__WORKSPACE__DIR": str(workspace),
        }
        pipeline = start_pipeline(bus, tmp_path / "logs", env, channels=("telegram",), agent_env=agent_env)
        try:
            for user in (HOME_USER, WORK_USER):  # each owner's DM makes their chat their agent's last route
                update = p.telegram_message(user_id=user, chat_id=user, text="hello", update_id=1000 + user)
                post_telegram(pipeline.ingress_url, update, TG_SECRET)

            async def chats_answered() -> set[object] | None:
                chats = {c.body.get("chat_id") for c in fake.sent("telegram")}
                return chats if {str(HOME_USER), str(WORK_USER)} <= {str(c) for c in chats} else None

            await eventually(chats_answered, timeout=60, interval=0.3, what="both agents' answers")
            before = len(fake.sent("telegram"))
            settings = Settings.model_validate(
                {
                    "aws": {"endpoint_url": bus.endpoint, "region": "us-east-1"},
                    "bus": {"prefix": bus.prefix},
                    "heartbeat": {"every": "1m", "agents": HEARTBEATS},
                }
            )
            async with open_stage_clients(settings, CronClients) as clients:
                names = await (await connect(settings, clients)).apply_heartbeats(settings.heartbeat)
            assert sorted(names) == [f"{bus.prefix}-heartbeat-home", f"{bus.prefix}-heartbeat-work"]
            firer_env = {"CLAWBUS_SCHEDULER__TEST_CLOCK_OFFSET_S": "61", "CLAWBUS_SCHEDULER__TICK_S": "0.5"}
            pipeline.supervisor.start(stage("scheduler", "scheduler.started", "scheduler", env=firer_env))

            async def beats() -> dict[str, str] | None:
                got = {
                    str(c.body.get("chat_id")): str(c.body.get("text"))
                    for c in fake.sent("telegram")[before:]
                }
                return got if len(got) == 2 else None

            delivered = await eventually(beats, timeout=60, interval=0.3, what="both heartbeats delivered")
        finally:
            codes = pipeline.stop()
    assert all(code == 0 for _, code in codes), codes
    assert "the plants need water" in delivered[str(HOME_USER)]
    assert "the build is red" in delivered[str(WORK_USER)]
