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

import pytest

from clawbus.bus.settings import Settings
from clawbus.openclaw.state_dir_read import read_openclaw_dir
from clawbus.storage import SessionRef
from tests.conftest import Bus
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
