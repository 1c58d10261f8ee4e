"""`StoredOpenClawState`: the OpenClaw engine's `EngineState` over clawbus's storage layer.

An AgentCore session's microVM is disposable and each session of an agent runs in its own, while OpenClaw
assumes one long-lived state dir. So around each turn on a session key:

- `prepare` syncs the shared workspace store into `<state dir>/workspace/` and, the first time this
  process sees the key, seeds the key's stored transcript (the session index names its session id; the
  `TranscriptStore` holds its entries) into OpenClaw's agent database, before the gateway ever loads
  that session. It notes the newest event seq: the *watermark*.
- `commit` writes the workspace edits back (`workspace_sync.push`), points the session index entry at
  OpenClaw's session id (a reset or the key's first turn starts a new one; the route the dispatcher
  stored there is kept), then appends the events after the watermark as one transcript batch — the
  commit point — and moves the watermark, so a second commit appends nothing. A commit that failed
  anywhere leaves the key "uncommitted": its next `prepare` drops the local rows and re-seeds from the
  store, so a retried turn runs on the committed history once.
- Turns of different sessions may overlap in one process (locally; in AgentCore a microVM serves one
  session): they share the folder, so pulls and pushes take turns (`_sync_lock`) and a pull leaves a
  running turn's unpushed edits alone (`plan_pull`'s `kept`).
- A turn that failed, or whose commit failed, may have left rows in the agent database the store never
  got (OpenClaw records the user message before it answers). Its retry must not run on top of them (the
  next commit would store both attempts), so a key whose last `prepare` had no successful `commit` is
  *rolled back*: forgotten in the database (`forget_session`) and seeded again from the store.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from clawbus.agent.engines.openclaw.session_keys import gateway_session_key
from clawbus.agent.engines.openclaw_state import sqlite_transcript as sql
from clawbus.agent.engines.openclaw_state.workspace_plan import BaseFile
from clawbus.agent.engines.openclaw_state.workspace_sync import SyncedWorkspace, pull, push
from clawbus.bus.errors import PermanentError, VersionConflict
from clawbus.bus.logging import log_event
from clawbus.schemas.session_key_parse import KeyShape, parse_session_key
from clawbus.storage import Batch, SessionEntry, SessionIndex, SessionRef, TranscriptStore

_log = logging.getLogger(__name__)


def agent_of(session_key: str) -> str:
    """The agent id in an `agent:<id>:…` session key."""
    parsed = parse_session_key(session_key)
    if parsed.shape is not KeyShape.AGENT or not parsed.agent_id:
        raise PermanentError(f"session key {session_key!r} is not agent:<id>:…")
    return parsed.agent_id


async def full_history(store: TranscriptStore, ref: SessionRef) -> list[sql.Entry]:
    """Every stored entry of the session, oldest first (OpenClaw needs the whole tree, header included)."""
    batches: list[Batch] = []
    before: int | None = None
    while True:
        page = await store.page(ref, before=before, limit=100)
        if not page:
            break
        batches.extend(page)
        before = page[-1].seq
    return [entry for batch in sorted(batches, key=lambda b: b.seq) for entry in batch.entries]


@dataclass
class _Seen:
    session_id: str | None
    watermark: int  # newest event seq already in the store (-1: none)


class StoredOpenClawState:
    """Hydrates an OpenClaw state dir from the stores before a turn and persists the turn after it."""

    def __init__(self, transcripts: TranscriptStore, index: SessionIndex, workspace: SyncedWorkspace) -> None:
        self._transcripts = transcripts
        self._index = index
        self._workspace = workspace
        self._seen: dict[tuple[Path, str], _Seen] = {}
        self._uncommitted: set[tuple[Path, str]] = set()  # prepared, not (yet) committed
        self._locks: dict[Path, asyncio.Lock] = {}
        self._bases: dict[Path, dict[str, BaseFile]] = {}

    def _sync_lock(self, state_dir: Path) -> asyncio.Lock:
        """One workspace sync (pull or push) at a time per folder: turns of different sessions run
        concurrently in one process and share `<state dir>/workspace/` and its base."""
        return self._locks.setdefault(state_dir, asyncio.Lock())

    async def prepare(self, session_key: str, state_dir: Path) -> None:
        """Sync the workspace in; seed the key's stored transcript on its first turn in this process."""
        agent_id = agent_of(session_key)
        async with self._sync_lock(state_dir):
            synced = self._bases.get(state_dir, {})
            self._bases[state_dir] = await pull(self._workspace, state_dir / "workspace", synced)
        db = sql.agent_db(state_dir, agent_id)
        oc_key = gateway_session_key(session_key)  # what the gateway keeps the session's rows under
        if (state_dir, session_key) in self._uncommitted:
            removed = await asyncio.to_thread(sql.forget_session, db, oc_key)
            self._seen.pop((state_dir, session_key), None)
            log_event(_log, "agent.state.rolled_back", logging.WARNING, agent=agent_id, sessions=removed)
        self._uncommitted.add((state_dir, session_key))
        if (state_dir, session_key) in self._seen:
            return
        entry = await self._index.get(agent_id, session_key)
        seeded = 0
        if (
            entry is not None
            and entry.started
            and await asyncio.to_thread(sql.current_session_id, db, oc_key) is None
        ):
            entries = await full_history(self._transcripts, SessionRef(agent_id, entry.session_id))
            if entries:
                fields = entry.model_dump(mode="json", by_alias=True, exclude_none=True)
                if await asyncio.to_thread(sql.seed_session, db, oc_key, entry.session_id, entries, fields):
                    seeded = len(entries)
        session_id = await asyncio.to_thread(sql.current_session_id, db, oc_key)
        watermark = -1 if session_id is None else await asyncio.to_thread(sql.last_seq, db, session_id)
        self._seen[(state_dir, session_key)] = _Seen(session_id, watermark)
        log_event(_log, "agent.state.prepared", agent=agent_id, session=session_id, seeded=seeded)

    async def commit(self, session_key: str, state_dir: Path) -> None:
        """Write the turn's workspace edits and new transcript events to the stores (once)."""
        agent_id = agent_of(session_key)
        async with self._sync_lock(state_dir):
            base = self._bases.get(state_dir)
            if base is not None:
                self._bases[state_dir] = await push(self._workspace, state_dir / "workspace", base)
        db = sql.agent_db(state_dir, agent_id)
        session_id = await asyncio.to_thread(sql.current_session_id, db, gateway_session_key(session_key))
        if session_id is None:
            self._uncommitted.discard((state_dir, session_key))
            return
        seen = self._seen.get((state_dir, session_key), _Seen(None, -1))
        after = seen.watermark if seen.session_id == session_id else -1
        events = await asyncio.to_thread(sql.events_after, db, session_id, after)
        # The index first, the transcript last: the append is the commit point. A failure before it leaves
        # the stored history without this turn, so the retry (re-seeded from the store) runs it once.
        await self._point_index(agent_id, session_key, session_id)
        if events:
            await self._append(SessionRef(agent_id, session_id), [event for _seq, event in events])
            after = events[-1][0]
        self._seen[(state_dir, session_key)] = _Seen(session_id, after)
        self._uncommitted.discard((state_dir, session_key))
        log_event(_log, "agent.state.committed", agent=agent_id, session=session_id, events=len(events))

    async def _append(self, ref: SessionRef, entries: list[sql.Entry]) -> None:
        """Append `entries` as one batch; a batch already holding them (a re-run) is not appended again."""
        tail = await self._transcripts.read_tail(ref)
        last_id = entries[-1].get("id")
        if tail.batches and tail.batches[-1].entries and tail.batches[-1].entries[-1].get("id") == last_id:
            return
        try:
            await self._transcripts.append(ref, Batch(tail.next_seq, tuple(entries)))
        except VersionConflict:
            again = await self._transcripts.read_tail(ref)
            if not (again.batches and again.batches[-1].entries[-1].get("id") == last_id):
                raise

    async def _point_index(self, agent_id: str, session_key: str, session_id: str) -> None:
        now = int(time.time() * 1000)

        def change(current: SessionEntry | None) -> SessionEntry:
            if current is None:
                return SessionEntry(session_id=session_id, updated_at=now, session_started_at=now)
            started = current.session_started_at if current.session_id == session_id else now
            return current.model_copy(
                update={"session_id": session_id, "updated_at": now, "session_started_at": started}
            )

        await self._index.update(agent_id, session_key, change)
