"""The session index: concurrent turns lose no update; sessions.json imports and exports unchanged."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from clawbus.bus.topology import sessions_table_name
from clawbus.storage import (
    DynamoSessionIndex,
    LocalSessionIndex,
    SessionEntry,
    SessionIndex,
    export_sessions_json,
    import_sessions_json,
)
from tests.conftest import Bus

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "openclaw" / "agents" / "main" / "sessions"


@pytest.fixture(params=["local", "dynamodb"])
async def index(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SessionIndex]:
    if request.param == "local":
        yield LocalSessionIndex(tmp_path / "sessions")
        return
    bus: Bus = request.getfixturevalue("bus")
    async with bus.aio("dynamodb") as ddb:
        yield DynamoSessionIndex(ddb, sessions_table_name(bus.prefix))


async def test_concurrent_turns_updating_one_session_lose_nothing(index: SessionIndex) -> None:
    def add_tokens(current: SessionEntry | None) -> SessionEntry:
        base = current or SessionEntry(session_id="s1")
        return base.model_copy(update={"total_tokens": (base.total_tokens or 0) + 10})

    # Six writers at once (concurrent requests on the wire), as two containers would race.
    await asyncio.gather(*(index.update("main", "agent:main:main", add_tokens) for _ in range(6)))
    entry = await index.get("main", "agent:main:main")
    assert entry is not None
    assert entry.total_tokens == 60


async def test_sessions_json_round_trips_with_fields_clawbus_does_not_use(index: SessionIndex) -> None:
    text = (FIXTURE / "sessions.json").read_text("utf-8")
    assert await import_sessions_json(index, "main", text) == 2
    assert json.loads(await export_sessions_json(index, "main")) == json.loads(text)
    entry = await index.get("main", "agent:main:main")
    assert entry is not None
    assert entry.delivery_context is not None
    assert entry.delivery_context.channel == "telegram"


async def test_two_processes_writing_one_local_index_lose_nothing(tmp_path: Path) -> None:
    # The dispatcher (the last route) and the agent (turns) both write sessions.json with `local`
    # transcripts; each process has its own in-process lock, so the file lock is what keeps both.
    dispatcher, agent = LocalSessionIndex(tmp_path / "s"), LocalSessionIndex(tmp_path / "s")

    def entry(current: SessionEntry | None, *, sid: str) -> SessionEntry:
        return current or SessionEntry(session_id=sid, updated_at=1)

    await asyncio.gather(
        *(
            index.update("main", f"agent:main:{name}:{n}", lambda c, sid=f"{name}{n}": entry(c, sid=sid))
            for n in range(20)
            for name, index in (("d", dispatcher), ("a", agent))
        )
    )
    assert len(await agent.entries("main")) == 40
