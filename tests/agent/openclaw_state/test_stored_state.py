"""The OpenClaw engine's state through the stores: a turn committed from one state dir is the history a
fresh state dir (a new microVM) starts from, and a commit never appends a turn twice.

The agent database here is OpenClaw 2026.9.6's own schema (dumped from a database the gateway made); a
turn is simulated by writing the rows the gateway writes. `test_real_gateway.py` runs the real thing.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlean

from clawbus.agent.engines.openclaw_state import sqlite_transcript as sql
from clawbus.agent.engines.openclaw_state.stored_state import StoredOpenClawState, agent_of
from clawbus.bus.errors import PermanentError, Unavailable
from clawbus.bus.topology import sessions_table_name
from clawbus.storage import (
    Batch,
    DynamoSessionIndex,
    DynamoTranscriptStore,
    LocalSessionIndex,
    LocalTranscriptStore,
    LocalWorkspaceStore,
    SessionIndex,
    SessionRef,
    TranscriptStore,
)
from tests.agent.openclaw_state.agent_db import insert_event
from tests.conftest import Bus

SCHEMA = Path(__file__).resolve().parents[2] / "fixtures" / "openclaw_agent_schema_v23.sql"
KEY = "agent:main:webchat:dm:alice"
SID = "6edb7962-0d64-4023-9af5-35b3dfdc1a8e"


@dataclass
class Stores:
    transcripts: TranscriptStore
    index: SessionIndex


@pytest.fixture(params=["local", "dynamodb"])
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    if request.param == "local":
        yield Stores(LocalTranscriptStore(tmp_path / "t"), LocalSessionIndex(tmp_path / "i"))
        return
    bus: Bus = request.getfixturevalue("bus")
    async with bus.aio("dynamodb") as ddb, bus.aio("s3") as s3:
        table = sessions_table_name(bus.prefix)
        yield Stores(
            DynamoTranscriptStore(ddb, s3, table=table, bucket=f"{bus.prefix}-state"),
            DynamoSessionIndex(ddb, table),
        )


def fresh_state_dir(root: Path) -> Path:
    """A state dir whose agent database the gateway has just created (empty, schema 23)."""
    db = sql.agent_db(root, "main")
    db.parent.mkdir(parents=True)
    with closing(sqlean.connect(db)) as conn:
        conn.executescript(SCHEMA.read_text())
    return root


def event(n: int, kind: str = "message", text: str = "") -> dict[str, Any]:
    body: dict[str, Any] = {"type": kind, "id": f"e{n}", "parentId": f"e{n - 1}" if n else None}
    body["timestamp"] = "2026-12-04T12:34:22.056Z"
    if kind == "message":
        body["message"] = {
            "role": "user" if n % 2 else "assistant",
            "content": [{"type": "text", "text": text}],
        }
    return body


def gateway_turn(state_dir: Path, texts: list[str], *, compressed: bool = False) -> None:
    """Write what the gateway writes for one turn on KEY (a node and window first, then the events;
    `compressed`: the turn's events zstd-compressed, as OpenClaw stores larger ones)."""
    with closing(sqlean.connect(sql.agent_db(state_dir, "main"))) as db, db:
        if not db.execute("SELECT 1 FROM session_nodes WHERE session_key = ?", (KEY,)).fetchone():
            db.execute(
                "INSERT INTO session_nodes (session_key, current_session_id, entry_json, updated_at) "
                "VALUES (?,?,?,1)",
                (KEY, SID, json.dumps({"sessionId": SID})),
            )
            db.execute(
                "INSERT INTO session_windows (session_id, session_key, created_at, updated_at) "
                "VALUES (?,?,1,1)",
                (SID, KEY),
            )
            db.execute(
                "INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?,0,?,1)",
                (
                    SID,
                    json.dumps(
                        {"type": "session", "version": 4, "id": SID, "timestamp": "2026-12-04T12:00:00Z"}
                    ),
                ),
            )
        start = (
            db.execute("SELECT max(seq) FROM transcript_events WHERE session_id = ?", (SID,)).fetchone()[0]
            + 1
        )
        for offset, text in enumerate(texts):
            insert_event(db, SID, start + offset, event(start + offset, text=text), compressed=compressed)


def rows(state_dir: Path) -> list[dict[str, Any]]:
    return [e for _seq, e in sql.events_after(sql.agent_db(state_dir, "main"), SID, -1)]


async def test_a_fresh_state_dir_starts_from_the_committed_history(stores: Stores, tmp_path: Path) -> None:
    state = StoredOpenClawState(stores.transcripts, stores.index, LocalWorkspaceStore(tmp_path / "ws"))
    first = fresh_state_dir(tmp_path / "vm1")
    await state.prepare(KEY, first)
    gateway_turn(first, ["hello", "(openclaw) You said: hello"])
    await state.commit(KEY, first)
    gateway_turn(first, ["again", "(openclaw) You said: again"])
    await state.commit(KEY, first)

    # A new microVM: a new process, an empty database.
    second = fresh_state_dir(tmp_path / "vm2")
    later = StoredOpenClawState(stores.transcripts, stores.index, LocalWorkspaceStore(tmp_path / "ws"))
    await later.prepare(KEY, second)
    assert sql.current_session_id(sql.agent_db(second, "main"), KEY) == SID
    assert rows(second) == rows(first)
    assert len(rows(second)) == 5
    with closing(sqlean.connect(sql.agent_db(second, "main"))) as db:
        ids = db.execute(
            "SELECT count(*) FROM transcript_event_identities WHERE session_id = ?", (SID,)
        ).fetchone()
    assert ids == (5,)
    with closing(sqlean.connect(sql.agent_db(second, "main"))) as db:
        node = db.execute(
            "SELECT entry_json, updated_at FROM session_nodes WHERE session_key = ?", (KEY,)
        ).fetchone()
        projection = db.execute(
            "SELECT indexed_seq, needs_rebuild, active_event_count, active_message_count "
            "FROM session_transcript_index_state WHERE session_id = ?",
            (SID,),
        ).fetchone()
    # Without a fresh projection OpenClaw fails the turn ("Session transcript projection is rebuilding").
    assert projection == (4, 0, 4, 4)
    # OpenClaw rejects a node whose entry disagrees with its row ("requires repair").
    assert (json.loads(node[0])["sessionId"], json.loads(node[0])["updatedAt"]) == (SID, node[1])

    # Its next turn appends only what is new.
    gateway_turn(second, ["third", "(openclaw) You said: third"])
    await later.commit(KEY, second)
    await later.commit(KEY, second)  # a re-run appends nothing
    batches = await stores.transcripts.page(SessionRef("main", SID))
    assert [len(b.entries) for b in reversed(batches)] == [3, 2, 2]
    entry = await stores.index.get("main", KEY)
    assert entry is not None
    assert entry.session_id == SID


async def test_events_openclaw_stored_compressed_are_committed_and_seeded_whole(
    stores: Stores, tmp_path: Path
) -> None:
    state = StoredOpenClawState(stores.transcripts, stores.index, LocalWorkspaceStore(tmp_path / "ws"))
    first = fresh_state_dir(tmp_path / "vm1")
    await state.prepare(KEY, first)
    result = json.dumps({"ok": True, "job": {"id": "5bcc85fc", "name": "stretch"}}) * 40  # a tool's result
    gateway_turn(first, ["add the job", result], compressed=True)
    await state.commit(KEY, first)

    second = fresh_state_dir(tmp_path / "vm2")
    later = StoredOpenClawState(stores.transcripts, stores.index, LocalWorkspaceStore(tmp_path / "ws"))
    await later.prepare(KEY, second)
    assert rows(second) == rows(first)
    assert rows(second)[-1]["message"]["content"][0]["text"] == result


async def test_a_key_the_database_already_has_is_not_seeded_again(stores: Stores, tmp_path: Path) -> None:
    state = StoredOpenClawState(stores.transcripts, stores.index, LocalWorkspaceStore(tmp_path / "ws"))
    vm = fresh_state_dir(tmp_path / "vm")
    gateway_turn(vm, ["hello", "hi"])
    await state.commit(KEY, vm)
    restarted = StoredOpenClawState(stores.transcripts, stores.index, LocalWorkspaceStore(tmp_path / "ws"))
    await restarted.prepare(KEY, vm)
    assert len(rows(vm)) == 3


class FailingOnce:
    """The transcript store, whose next append fails (a throttled or unreachable store)."""

    def __init__(self, store: TranscriptStore) -> None:
        self._store = store
        self.fail_next = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def append(self, ref: SessionRef, batch: Batch) -> None:
        if self.fail_next:
            self.fail_next = False
            raise Unavailable("the transcript store is unreachable")
        await self._store.append(ref, batch)


class IndexFailingOnce:
    """The session index, whose next update fails."""

    def __init__(self, index: SessionIndex) -> None:
        self._index = index
        self.fail_next = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._index, name)

    async def update(self, agent_id: str, session_key: str, change: Any) -> Any:
        if self.fail_next:
            self.fail_next = False
            raise Unavailable("the session index is unreachable")
        return await self._index.update(agent_id, session_key, change)


def user_texts(entries: list[dict[str, Any]]) -> list[str]:
    return [
        e["message"]["content"][0]["text"]
        for e in entries
        if e.get("type") == "message" and e["message"]["role"] == "user"
    ]


async def test_a_retried_turn_after_a_failed_commit_is_stored_once(stores: Stores, tmp_path: Path) -> None:
    transcripts = FailingOnce(stores.transcripts)
    state = StoredOpenClawState(transcripts, stores.index, LocalWorkspaceStore(tmp_path / "ws"))  # type: ignore[arg-type]
    vm = fresh_state_dir(tmp_path / "vm")
    await state.prepare(KEY, vm)
    gateway_turn(vm, ["hello", "(openclaw) You said: hello"])
    await state.commit(KEY, vm)

    await state.prepare(KEY, vm)
    gateway_turn(vm, ["again", "(openclaw) You said: again"])  # OpenClaw recorded the turn locally
    transcripts.fail_next = True
    with pytest.raises(Unavailable):
        await state.commit(KEY, vm)

    await state.prepare(KEY, vm)  # the dispatcher's retry, in the same process
    assert user_texts(rows(vm)) == ["hello"]  # the turn OpenClaw sees starts from what was committed
    gateway_turn(vm, ["again", "(openclaw) You said: again"])
    await state.commit(KEY, vm)

    stored = [e for b in reversed(await stores.transcripts.page(SessionRef("main", SID))) for e in b.entries]
    assert user_texts(stored) == ["hello", "again"]
    fresh = fresh_state_dir(tmp_path / "vm2")  # and a new microVM sees each turn once
    await StoredOpenClawState(stores.transcripts, stores.index, LocalWorkspaceStore(tmp_path / "ws")).prepare(
        KEY, fresh
    )
    assert user_texts(rows(fresh)) == ["hello", "again"]


async def test_a_commit_whose_index_update_failed_is_stored_once_after_the_retry(
    stores: Stores, tmp_path: Path
) -> None:
    index = IndexFailingOnce(stores.index)
    state = StoredOpenClawState(stores.transcripts, index, LocalWorkspaceStore(tmp_path / "ws"))  # type: ignore[arg-type]
    vm = fresh_state_dir(tmp_path / "vm")
    await state.prepare(KEY, vm)
    gateway_turn(vm, ["hello", "(openclaw) You said: hello"])
    await state.commit(KEY, vm)

    await state.prepare(KEY, vm)
    gateway_turn(vm, ["again", "(openclaw) You said: again"])
    index.fail_next = True  # the commit fails at its index update
    with pytest.raises(Unavailable):
        await state.commit(KEY, vm)
    await state.prepare(KEY, vm)  # the dispatcher's retry
    gateway_turn(vm, ["again", "(openclaw) You said: again"])
    await state.commit(KEY, vm)

    stored = [e for b in reversed(await stores.transcripts.page(SessionRef("main", SID))) for e in b.entries]
    assert user_texts(stored) == ["hello", "again"]


async def test_a_turn_that_failed_before_its_first_commit_leaves_nothing_for_the_retry(
    stores: Stores, tmp_path: Path
) -> None:
    state = StoredOpenClawState(stores.transcripts, stores.index, LocalWorkspaceStore(tmp_path / "ws"))
    vm = fresh_state_dir(tmp_path / "vm")
    await state.prepare(KEY, vm)
    gateway_turn(vm, ["hello"])  # the user message was recorded, then the turn timed out: no commit
    await state.prepare(KEY, vm)
    gateway_turn(vm, ["hello", "(openclaw) You said: hello"])
    await state.commit(KEY, vm)
    stored = [e for b in await stores.transcripts.page(SessionRef("main", SID)) for e in b.entries]
    assert user_texts(stored) == ["hello"]


async def test_overlapping_turns_of_two_sessions_keep_each_others_workspace_edits(
    stores: Stores, tmp_path: Path
) -> None:
    workspace = LocalWorkspaceStore(tmp_path / "ws")
    await workspace.write("MEMORY.md", "# Memory\n")
    state = StoredOpenClawState(stores.transcripts, stores.index, workspace)
    vm = fresh_state_dir(tmp_path / "vm")
    other = "agent:main:telegram:dm:42"
    await state.prepare(KEY, vm)
    (vm / "workspace" / "MEMORY.md").write_text(
        "# Memory\n- alice likes tea\n"
    )  # turn 1 edits, still running
    await workspace.write("SOUL.md", "calm")  # meanwhile another microVM's session writes a file
    await state.prepare(other, vm)  # turn 2 starts in the same process
    (vm / "workspace" / "notes.md").write_text("from turn 2")
    await state.commit(KEY, vm)  # turn 1 ends
    await state.commit(other, vm)  # turn 2 ends
    memory = await workspace.read("MEMORY.md")
    notes = await workspace.read("notes.md")
    assert memory is not None
    assert notes is not None
    assert memory.text == "# Memory\n- alice likes tea\n"
    assert notes.text == "from turn 2"
    assert (vm / "workspace" / "SOUL.md").read_text() == "calm"


def test_the_agent_comes_from_the_session_key() -> None:
    assert agent_of("agent:ops:telegram:dm:42") == "ops"
    with pytest.raises(PermanentError):
        agent_of("main")
