"""`clawbus state import` of an OpenClaw 2026.9 directory, whose sessions live in the agent database, gives
the OpenClaw engine exactly the sessions and workspace the user had."""

from __future__ import annotations

import asyncio
import json
from contextlib import closing
from pathlib import Path
from typing import Any

import sqlean

from clawbus.agent.engines.openclaw_state import sqlite_transcript as sql
from clawbus.agent.engines.openclaw_state.stored_state import StoredOpenClawState
from clawbus.bus.settings import Settings
from clawbus.openclaw.state_dir_read import read_openclaw_dir
from tests.agent.openclaw_state.agent_db import insert_event
from tests.conftest import Bus
from tests.ops.ops_cli import clawbus

SCHEMA = Path(__file__).resolve().parents[1] / "fixtures" / "openclaw_agent_schema_v23.sql"
KEY = "agent:main:telegram:dm:1001"
SID = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
EVENTS: list[dict[str, Any]] = [
    {"type": "session", "version": 4, "id": SID, "timestamp": "2026-12-01T09:00:00.000Z", "cwd": "/w"},
    {"type": "model_change", "provider": "x", "modelId": "y", "id": "a1", "parentId": None},
    {"type": "message", "id": "a2", "parentId": "a1", "message": {"role": "user", "content": "I like tea"}},
    {"type": "message", "id": "a3", "parentId": "a2", "message": {"role": "assistant", "content": "Noted."}},
]


def agent_database(path: Path) -> None:
    """An agent database as OpenClaw 2026.9.6 leaves it after one conversation (no sessions/*.jsonl)."""
    path.parent.mkdir(parents=True)
    with closing(sqlean.connect(path)) as db, db:
        db.executescript(SCHEMA.read_text())
        entry = {"sessionId": SID, "updatedAt": 1796387675786, "chatType": "direct", "lastTo": "1001"}
        db.execute(
            "INSERT INTO session_nodes (session_key, current_session_id, entry_json, updated_at) "
            "VALUES (?,?,?,1)",
            (KEY, SID, json.dumps(entry)),
        )
        db.execute(
            "INSERT INTO session_windows (session_id, session_key, created_at, updated_at) VALUES (?,?,1,1)",
            (SID, KEY),
        )
        for seq, event in enumerate(EVENTS):
            insert_event(db, SID, seq, event, compressed=seq == len(EVENTS) - 1)  # OpenClaw zstds larger ones


def openclaw_home(root: Path) -> Path:
    (root / "workspace").mkdir(parents=True)
    (root / "workspace" / "SOUL.md").write_text("Be brief.")
    (root / "openclaw.json").write_text("{}")
    agent_database(root / "agents" / "main" / "agent" / "openclaw-agent.sqlite")
    return root


def test_reading_finds_the_databases_sessions(tmp_path: Path) -> None:
    found = read_openclaw_dir(openclaw_home(tmp_path / "openclaw"))
    assert found.sessions["main"].index[KEY]["sessionId"] == SID
    assert found.sessions["main"].transcripts[SID] == EVENTS


def test_the_engine_starts_from_exactly_the_imported_session(bus: Bus, tmp_path: Path) -> None:
    home = openclaw_home(tmp_path / "openclaw")
    ran = clawbus(bus, tmp_path, "state", "import", str(home))
    assert ran.code == 0, ran.out + ran.err

    state_dir = tmp_path / "vm"
    db = sql.agent_db(state_dir, "main")
    db.parent.mkdir(parents=True)
    with closing(sqlean.connect(db)) as conn:
        conn.executescript(SCHEMA.read_text())
    asyncio.run(_prepare(bus, tmp_path, state_dir))

    assert sql.current_session_id(db, KEY) == SID
    assert [event for _seq, event in sql.events_after(db, SID, -1)] == EVENTS
    assert (state_dir / "workspace" / "SOUL.md").read_text() == "Be brief."


async def _prepare(bus: Bus, data_dir: Path, state_dir: Path) -> None:
    from clawbus.cli.state_sinks import open_sinks

    settings = Settings.model_validate(
        {
            "aws": {"endpoint_url": bus.endpoint, "region": "us-east-1"},
            "bus": {"prefix": bus.prefix},
            "local": {"data_dir": data_dir},
        }
    )
    async with open_sinks(settings) as sinks:
        sessions = sinks.sessions
        state = StoredOpenClawState(
            sessions._transcripts,  # type: ignore[attr-defined]  # the real stores under the adapter
            sessions._index,  # type: ignore[attr-defined]
            sinks.workspace,  # type: ignore[arg-type]
        )
        await state.prepare(KEY, state_dir)
