"""Read and seed one session's transcript in OpenClaw 2026.9.6's agent database (sync `sqlite3`).

OpenClaw keeps an agent's sessions in `agents/<agentId>/agent/openclaw-agent.sqlite` (schema version 23):

- `session_nodes` maps a session key to its current session id (`current_session_id`) and holds the
  session's entry (`entry_json`, the old `sessions.json` value);
- `session_windows` has one row per session id (its key, scope, times);
- `transcript_events` has the transcript: `(session_id, seq)` → `event_json`, each event exactly one line of
  the old `<sessionId>.jsonl` (`{type, id, parentId, timestamp, …}`), seq 0 being the `session` header;
  `transcript_event_identities` indexes the events by id and parent;
- derived tables (`session_transcript_active_events`, `session_transcript_index_state`,
  `transcript_rewrite_watermarks`, full-text rows) are a projection of the events; OpenClaw rebuilds a
  missing one on the session's first read but fails that turn meanwhile, so seeding writes it too
  (`active_rows`); full-text rows are left to OpenClaw's indexer.

So the transcript maps one to one onto clawbus's `TranscriptStore` entries: committing a turn reads the
events after the last seq already stored; seeding a fresh database writes the stored entries back as
events (with their identities, a window and a node) and leaves the index for OpenClaw to build.
Python 3.11's `sqlite3` (SQLite 3.40) cannot write these tables (their CHECKs call `octet_length`, new in
3.43), so this uses `sqlean` (the same DB-API over SQLite 3.50).
Old rows may be compressed (`event_zstd`); they are read with `zstandard` only if it is installed, and
otherwise named in the error (a fresh engine database never compresses a live session's tail).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlean as sqlite3  # OpenClaw's schema needs SQLite >= 3.43; the stdlib's is 3.40

from clawbus.bus.errors import ConfigError, PermanentError
from clawbus.openclaw.sqlite import decode_event

Entry = dict[str, Any]


def agent_db(state_dir: Path, agent_id: str) -> Path:
    """Where OpenClaw keeps `agent_id`'s sessions under `state_dir`."""
    return state_dir / "agents" / agent_id / "agent" / "openclaw-agent.sqlite"


def connect(path: Path) -> sqlite3.Connection:
    """A connection that waits for the gateway's own writes instead of failing on a busy database."""
    if not path.is_file():
        raise ConfigError(f"{path} does not exist: start the OpenClaw gateway (its warm-up creates it) first")
    db = sqlite3.connect(path, timeout=10.0)
    db.execute("PRAGMA busy_timeout = 10000")
    return db


def current_session_id(path: Path, session_key: str) -> str | None:
    """The session id OpenClaw uses now for `session_key`, or None when the key has no session yet."""
    with closing(connect(path)) as db:
        row = db.execute(
            "SELECT current_session_id FROM session_nodes WHERE session_key = ?", (session_key,)
        ).fetchone()
    return None if row is None else str(row[0])


def events_after(path: Path, session_id: str, after_seq: int) -> list[tuple[int, Entry]]:
    """The session's events with seq > `after_seq` (-1: all), in order."""
    with closing(connect(path)) as db:
        rows = db.execute(
            "SELECT seq, event_json, event_zstd FROM transcript_events WHERE session_id = ? AND seq > ? "
            "ORDER BY seq",
            (session_id, after_seq),
        ).fetchall()
    try:
        return [(int(seq), decode_event(int(seq), text, blob)) for seq, text, blob in rows]
    except ValueError as exc:  # OpenClaw's own row cannot be read: retrying will not change it
        raise PermanentError(f"OpenClaw's transcript of session {session_id}: {exc}") from exc


def last_seq(path: Path, session_id: str) -> int:
    """The seq of the session's newest event, -1 when it has none."""
    with closing(connect(path)) as db:
        row = db.execute(
            "SELECT max(seq) FROM transcript_events WHERE session_id = ?", (session_id,)
        ).fetchone()
    return -1 if row is None or row[0] is None else int(row[0])


def _millis(entry: Entry, fallback: int) -> int:
    """An event's `timestamp` (ISO 8601) in epoch ms, else `fallback`."""
    stamp = entry.get("timestamp")
    if isinstance(stamp, str):
        try:
            return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            return fallback
    return fallback


def event_rows(session_id: str, entries: Sequence[Entry], now_ms: int) -> list[tuple[Any, ...]]:
    """`transcript_events` rows for `entries` (seq 0, 1, …): (session, seq, json, created_at, bytes)."""
    rows = []
    for seq, entry in enumerate(entries):
        text = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
        rows.append((session_id, seq, text, _millis(entry, now_ms), len(text.encode("utf-8"))))
    return rows


def identity_rows(session_id: str, entries: Sequence[Entry], now_ms: int) -> list[tuple[Any, ...]]:
    """`transcript_event_identities` rows: (session_id, event_id, seq, type, parent_id, created_at)."""
    return [
        (session_id, str(e["id"]), seq, e.get("type"), e.get("parentId"), _millis(e, now_ms))
        for seq, e in enumerate(entries)
        if e.get("id")
    ]


def seed_session(
    path: Path, session_key: str, session_id: str, entries: Sequence[Entry], entry: Entry
) -> bool:
    """Write a stored session into a database that does not know `session_key` yet; whether it did.

    A key the database already has is left alone: the gateway may hold it in memory, and its rows are
    newer than, or the same as, the store's.
    """
    now = int(time.time() * 1000)
    # OpenClaw reads a node only when its entry names the row's session id and the row's `updated_at`, and
    # `chat.send` only when it is marked valid (`entry_valid` 1; else "invalid persisted session row
    # requires repair"); it fills in the rest of the entry on the turn.
    updated = int(entry.get("updatedAt") or now)
    node = {
        "sessionId": session_id,
        "updatedAt": updated,
        "sessionStartedAt": entry.get("sessionStartedAt", updated),
    }
    with closing(connect(path)) as db, db:
        if db.execute("SELECT 1 FROM session_nodes WHERE session_key = ?", (session_key,)).fetchone():
            return False
        db.execute(
            "INSERT INTO session_nodes (session_key, current_session_id, entry_json, updated_at, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (session_key, session_id, json.dumps(node, ensure_ascii=False), updated, now),
        )
        # after the insert: OpenClaw's insert trigger marks every new row unchecked (`entry_valid` 0)
        db.execute("UPDATE session_nodes SET entry_valid = 1 WHERE session_key = ?", (session_key,))
        db.execute(
            "INSERT INTO session_windows (session_id, session_key, created_at, updated_at, "
            "transcript_updated_at) VALUES (?, ?, ?, ?, ?)",
            (session_id, session_key, now, now, now),
        )
        db.executemany(
            "INSERT INTO transcript_events (session_id, seq, event_json, created_at, event_utf8_bytes) "
            "VALUES (?, ?, ?, ?, ?)",
            event_rows(session_id, entries, now),
        )
        db.executemany(
            "INSERT OR IGNORE INTO transcript_event_identities "
            "(session_id, event_id, seq, event_type, parent_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            identity_rows(session_id, entries, now),
        )
        active = active_rows(session_id, entries)
        db.executemany(
            "INSERT INTO session_transcript_active_events "
            "(session_id, active_position, event_seq, message_position, context_eligible) "
            "VALUES (?, ?, ?, ?, 1)",
            active,
        )
        messages = sum(1 for row in active if row[3] is not None)
        db.execute(
            "INSERT INTO session_transcript_index_state (session_id, indexed_seq, leaf_event_id, "
            "needs_rebuild, active_event_count, active_message_count, updated_at) "
            "VALUES (?, ?, ?, 0, ?, ?, ?)",
            (session_id, len(entries) - 1, entries[-1].get("id"), len(active), messages, now),
        )
        db.execute(
            "INSERT INTO transcript_rewrite_watermarks (session_id, generation, updated_at) VALUES (?, ?, ?)",
            (session_id, uuid.uuid4().hex, now),
        )
    return True


def active_rows(session_id: str, entries: Sequence[Entry]) -> list[tuple[Any, ...]]:
    """`session_transcript_active_events` rows: (session_id, position, seq, message position or None).

    The projection OpenClaw otherwise rebuilds on the session's first read, failing that turn
    ("Session transcript projection is rebuilding"): every event after the header, in order, messages
    numbered among themselves. A transcript is linear as clawbus stores it (one branch, appended a turn at
    a time), so every event is on the active branch.
    """
    rows: list[tuple[Any, ...]] = []
    message = 0
    for position, seq in enumerate(range(1, len(entries))):
        is_message = entries[seq].get("type") == "message"
        rows.append((session_id, position, seq, message if is_message else None))
        message += is_message
    return rows


def forget_session(path: Path, session_key: str) -> list[str]:
    """Remove `session_key` and every session window of it from the database; the session ids removed.

    What a failed turn (or a turn whose commit failed) left behind goes with them, so the key can be
    seeded again from the store. The schema's foreign keys cascade from the node and the windows to the
    events, identities, projection and every per-session table; only the full-text bookkeeping
    (`session_transcript_fts_rows`, no foreign key) is removed by hand (its trigger clears the index).
    """
    with closing(connect(path)) as db:
        db.execute("PRAGMA foreign_keys = ON")  # per connection, and only outside a transaction
        with db:
            ids = [
                str(row[0])
                for row in db.execute(
                    "SELECT session_id FROM session_windows WHERE session_key = ? UNION "
                    "SELECT current_session_id FROM session_nodes WHERE session_key = ?",
                    (session_key, session_key),
                )
            ]
            marks = ",".join("?" * len(ids))
            if ids:
                db.execute(f"DELETE FROM session_transcript_fts_rows WHERE session_id IN ({marks})", ids)  # noqa: S608
                db.execute(f"DELETE FROM session_windows WHERE session_id IN ({marks})", ids)  # noqa: S608
            db.execute("DELETE FROM session_nodes WHERE session_key = ?", (session_key,))
    return ids
