"""Many agents in one agent app: each turn runs in its own agent's runtime, workspace and sessions.

Built as `clawbus agent` builds it (`open_fleet` over `open_runtime`), on the loopback AWS API. OpenClaw
gives each agent its own workspace (`workspace-<agentId>`) and session store (concepts/multi-agent.md
"Paths"); so does clawbus.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from clawbus.agent import create_app
from clawbus.agent.fleet import open_fleet, settings_for_agent
from clawbus.agent.runtime import open_runtime
from clawbus.bus.settings import Settings
from clawbus.schemas import Access, AgentRequest, InboundEvent, parse_agent_response
from tests.conftest import Bus


def _settings(bus: Bus, tmp_path: Path) -> Settings:
    return Settings.model_validate(
        {
            "aws": {"endpoint_url": bus.endpoint, "region": "us-east-1"},
            "bus": {"prefix": bus.prefix},
            "session": {"transcripts": "local", "dir": str(tmp_path / "sessions"), "agent_id": "home"},
            "agent": {
                "workspace": {"backend": "local", "dir": str(tmp_path / "workspace")},
                "dev_tool_syntax": True,
            },
            "routing": {"agents": {"work": {"model": "offline/echo"}}},
        }
    )


def _request(agent: str, text: str, turn: str) -> bytes:
    key = f"agent:{agent}:main"
    event = InboundEvent(
        event_id=f"webchat:{turn}",
        channel="webchat",
        agent_id=agent,
        session_key=key,
        text=text,
        access=Access.OWNER,
    )
    return AgentRequest(session_key=key, reply_id=f"rp-{turn}", events=(event,)).to_wire().encode()


async def test_each_agent_keeps_its_own_workspace_and_sessions(bus: Bus, tmp_path: Path) -> None:
    write = "/write " + json.dumps({"path": "NOTES.md", "content": "work only"})
    read = "/read " + json.dumps({"path": "NOTES.md"})
    settings = _settings(bus, tmp_path)
    async with open_fleet(settings, open_runtime) as fleet:
        transport = httpx.ASGITransport(app=create_app(fleet))
        async with httpx.AsyncClient(transport=transport, base_url="http://agent") as client:

            async def say(agent: str, text: str, turn: str) -> str:
                response = await client.post("/invocations", content=_request(agent, text, turn))
                assert response.status_code == 200, response.text
                return " ".join(parse_agent_response(response.content).parts)

            assert await say("work", write, "w1") == "wrote 9 characters to NOTES.md"
            assert "work only" in await say("work", read, "w2")
            assert "work only" not in await say("home", read, "h1")
    assert (tmp_path / "workspace-work" / "NOTES.md").read_text() == "work only"
    assert not (tmp_path / "workspace" / "NOTES.md").exists()
    assert sorted(p.name for p in (tmp_path / "sessions").iterdir()) == ["home", "work"]


def test_an_agent_gets_its_model_and_a_workspace_beside_the_default_one(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {
            "session": {"agent_id": "home"},
            "agent": {
                "model": "bedrock/a",
                "fallbacks": ["bedrock/b"],
                "workspace": {"dir": str(tmp_path / "ws")},
            },
            "routing": {"agents": {"work": {"model": "openai/gpt-5"}}},
        }
    )
    work = settings_for_agent(settings, "Work")
    assert (work.session.agent_id, work.agent.model, work.agent.fallbacks) == ("work", "openai/gpt-5", [])
    assert work.agent.workspace.dir == tmp_path / "ws-work"
    home = settings_for_agent(settings, "home")
    assert (home.agent.model, home.agent.workspace.dir) == ("bedrock/a", tmp_path / "ws")
