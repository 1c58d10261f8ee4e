"""`clawbus state import|export` against the loopback AWS API: an OpenClaw directory in, the same back out.

The assertions read the stores through the classes the stages use (the agent's workspace and session
stores, ingress's pairing store, the cron service, the secret store), so "imported" means "the pipeline
will see it".
"""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import json5
import pytest

from clawbus.bus.settings import Settings
from clawbus.openclaw.state_dir_read import read_openclaw_dir
from clawbus.storage import SessionRef
from tests.conftest import Bus, make_bus
from tests.ops.ops_cli import clawbus

HOME = Path(__file__).parent.parent / "fixtures" / "openclaw_home"
MAIN_SESSION = "7f3c2a10-5b1e-4c77-9a41-0d2e8f6b1c01"


@pytest.fixture
def openclaw_home(tmp_path: Path) -> Path:
    """The fixture directory, with its pending pairing request made just now (they expire in an hour)."""
    home = tmp_path / "openclaw"
    shutil.copytree(HOME, home)
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    pairing = home / "credentials" / "telegram-pairing.json"
    data = json.loads(pairing.read_text())
    data["requests"][0].update(createdAt=now, lastSeenAt=now)
    pairing.write_text(json.dumps(data))
    return home


def _settings(bus: Bus, data_dir: Path) -> Settings:
    return Settings.model_validate(
        {
            "aws": {"endpoint_url": bus.endpoint, "region": "us-east-1"},
            "bus": {"prefix": bus.prefix},
            "local": {"data_dir": data_dir},
        }
    )


async def _stored(bus: Bus, data_dir: Path) -> dict[str, Any]:
    """What the stages would read after the import."""
    from clawbus.cli.state_sinks import open_sinks
    from clawbus.ingress.pairing_store import DynamoPairingStore

    async with open_sinks(_settings(bus, data_dir)) as sinks:
        pairing = sinks.pairing._store  # type: ignore[attr-defined]  # the real store under the adapter
        assert isinstance(pairing, DynamoPairingStore)
        agents_md = await sinks.workspace.read("AGENTS.md")
        sessions = sinks.sessions
        tail = await sessions._transcripts.read_tail(SessionRef("main", MAIN_SESSION))  # type: ignore[attr-defined]
        entry = await sessions._index.get("main", "agent:main:main")  # type: ignore[attr-defined]
        return {
            "agents_md": agents_md.text if agents_md else None,
            "paired": await pairing.paired("telegram", "default"),
            "pending": [r.code for r in await pairing.pending("telegram", "default", datetime.now(UTC))],
            "whatsapp_work": await pairing.paired("whatsapp", "work"),
            "telegram_secret": await sinks.secrets.read_values("telegram"),
            "whatsapp_auth": await sinks.secrets.read_values("whatsapp-auth-default"),
            "config": await sinks.config.read_document(),
            "jobs": sorted(job.id for job in await sinks.cron.list_jobs(include_disabled=True)),
            "runs": [run.status for run in await sinks.cron.runs("morning-brief")],
            "tail": [e.get("type") for e in tail.entries],
            "last_to": entry.last_to if entry else None,
        }


def test_dry_run_reports_and_writes_nothing(bus: Bus, tmp_path: Path, openclaw_home: Path) -> None:
    ran = clawbus(bus, tmp_path, "state", "import", str(openclaw_home), "--dry-run", "--json")
    assert ran.code == 0, ran.err
    report = ran.json()
    assert report["dry_run"] is True
    assert report["counts"]["workspace"] == {"added": 6}
    assert report["counts"]["session"] == {"added": 2}
    assert report["counts"]["cron"] == {"added": 2}
    stored = asyncio.run(_stored(bus, tmp_path))
    assert stored["agents_md"] is None
    assert stored["jobs"] == []
    assert stored["telegram_secret"] is None


def test_import_lands_where_the_stages_read_and_a_second_import_changes_nothing(
    bus: Bus, tmp_path: Path, openclaw_home: Path
) -> None:
    ran = clawbus(bus, tmp_path, "state", "import", str(openclaw_home))
    assert ran.code == 0, ran.out + ran.err
    assert "workspace    6 added" in ran.out
    assert "skipped not moved skills" in ran.out  # what stayed behind is named, with why
    assert "123456:telegram-token" not in ran.out + ran.err  # secrets never printed

    stored = asyncio.run(_stored(bus, tmp_path))
    assert stored["agents_md"] is not None
    assert stored["agents_md"].startswith("# AGENTS.md")
    assert stored["paired"] == {"1001", "1003"}
    assert stored["pending"] == ["K7QZ3MPA"]
    assert stored["whatsapp_work"] == {"+351910000001"}
    assert stored["telegram_secret"]["CLAWBUS_TELEGRAM__BOT_TOKEN"] == "123456:telegram-token-from-fixture"
    assert set(stored["whatsapp_auth"]) == {"creds.json", "pre-key-1.json"}
    assert "botToken" not in stored["config"]["channels"]["telegram"]  # credentials left the config
    assert stored["config"]["channels"]["telegram"]["dmPolicy"] == "pairing"
    assert stored["jobs"] == ["morning-brief", "water-plants"]
    assert stored["runs"] == ["ok"]
    assert "compaction" in stored["tail"]  # the prompt's tail reaches back to the last compaction
    assert stored["tail"][-1] == "message"
    assert stored["last_to"] == "1001"

    again = clawbus(bus, tmp_path, "state", "import", str(openclaw_home), "--json")
    assert again.code == 0, again.err
    outcomes = {
        row["outcome"] for row in again.json()["items"] if row["kind"] not in ("not moved", "cron runs")
    }
    assert outcomes == {"unchanged"}


def test_export_gives_back_an_openclaw_directory(bus: Bus, tmp_path: Path, openclaw_home: Path) -> None:
    assert clawbus(bus, tmp_path, "state", "import", str(openclaw_home)).code == 0
    out = tmp_path / "export"
    ran = clawbus(bus, tmp_path, "state", "export", str(out), "--include-secrets")
    assert ran.code == 0, ran.err
    original, exported = read_openclaw_dir(openclaw_home), read_openclaw_dir(out)
    assert exported.workspace == original.workspace
    # paired ids are stored as the gate compares them (lowercased, channel prefix removed)
    assert exported.allow_from == {k: [s.lower() for s in v] for k, v in original.allow_from.items()}
    assert [r["code"] for r in exported.pairing[("telegram", "default")]] == ["K7QZ3MPA"]
    assert exported.sessions["main"].transcripts == original.sessions["main"].transcripts
    assert exported.sessions["main"].index["agent:main:main"]["sessionId"] == MAIN_SESSION
    assert sorted(job["id"] for job in exported.cron_jobs) == ["morning-brief", "water-plants"]
    assert exported.cron_runs["morning-brief"][0]["status"] == "ok"
    assert exported.whatsapp_auth == original.whatsapp_auth
    assert exported.config is not None
    assert exported.config["channels"]["telegram"]["botToken"] == "123456:telegram-token-from-fixture"
    assert exported.config["session"] == original.config["session"]  # type: ignore[index]
    # and a second export never overwrites
    assert clawbus(bus, tmp_path, "state", "export", str(out)).code == 2


def test_not_an_openclaw_directory_exits_2_with_a_clear_message(bus: Bus, tmp_path: Path) -> None:
    ran = clawbus(bus, tmp_path, "state", "import", str(tmp_path / "nowhere"))
    assert ran.code == 2
    assert "is not a directory" in ran.err


def test_two_agents_and_identity_links_go_out_in_openclaws_layout_and_come_back(
    bus: Bus, aws_endpoint: str, tmp_path: Path, openclaw_home: Path
) -> None:
    # Two agents (the second's workspace in `workspace-<agentId>/`, OpenClaw's default place for it:
    # openclaw-agent-runtime.md) and a config identity link.
    config = json5.loads((openclaw_home / "openclaw.json").read_text())
    config["agents"]["entries"] = {"main": {"default": True}, "work": {}}
    config["session"]["identityLinks"] = {"alice": ["telegram:1001"]}
    (openclaw_home / "openclaw.json").write_text(json.dumps(config))
    (openclaw_home / "workspace-work" / "memory").mkdir(parents=True)
    (openclaw_home / "workspace-work" / "AGENTS.md").write_text("# work's AGENTS.md\n")
    (openclaw_home / "workspace-work" / "memory" / "2026-12-01.md").write_text("shipped the release\n")
    ran = clawbus(bus, tmp_path, "state", "import", str(openclaw_home), "--json")
    assert ran.code == 0, ran.err
    moved = {row["name"]: row["outcome"] for row in ran.json()["items"] if row["kind"] == "workspace"}
    assert moved["workspace-work/AGENTS.md"] == "added"
    # A link made with `/link` after the import: WhatsApp's +351… is alice too.
    asyncio.run(_link(bus, tmp_path, "whatsapp", "+351910000001", "alice"))

    out = tmp_path / "export"
    assert clawbus(bus, tmp_path, "state", "export", str(out)).code == 0
    exported = read_openclaw_dir(out)
    assert (out / "workspace-work" / "AGENTS.md").read_text() == "# work's AGENTS.md\n"
    assert exported.agent_workspaces == read_openclaw_dir(openclaw_home).agent_workspaces
    assert exported.workspace == read_openclaw_dir(openclaw_home).workspace  # main's stays in workspace/
    assert exported.config is not None
    links = exported.config["session"]["identityLinks"]
    assert links == {"alice": ["telegram:1001", "whatsapp:+351910000001"]}

    # Imported into another deployment, the export gives the same agents' workspaces and links.
    other, data = make_bus(aws_endpoint), tmp_path / "other"
    assert clawbus(other, data, "state", "import", str(out)).code == 0
    back = tmp_path / "back"
    assert clawbus(other, data, "state", "export", str(back)).code == 0
    again = read_openclaw_dir(back)
    assert again.agent_workspaces == exported.agent_workspaces
    assert again.config is not None
    assert again.config["session"]["identityLinks"] == links


async def _link(bus: Bus, data_dir: Path, channel: str, sender: str, canonical: str) -> None:
    from clawbus.bus.clients import CronClients, open_stage_clients
    from clawbus.bus.topology import pairing_table_name
    from clawbus.storage.identity_links import identity_link_store

    settings = _settings(bus, data_dir)
    async with open_stage_clients(settings, CronClients) as clients:
        store = identity_link_store(clients.dynamodb, pairing_table_name(bus.prefix))
        await store.link(channel, sender, canonical, datetime.now(UTC))
