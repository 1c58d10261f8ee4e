"""Sessions from OpenClaw 2026.9.x's agent database (`agents/<id>/agent/openclaw-agent.sqlite`), read-only.

Since the SQLite session store, OpenClaw keeps no `sessions/*.jsonl` for new sessions: `session_nodes`
maps each session key to its current session id and entry (the old `sessions.json` value, `entry_json`)
and `transcript_events` holds each session's transcript, one old JSONL line per row (`event_json`, by
`seq`). `read_agent_db` turns them into the same `sessions.json` index and transcripts the JSONL reader
gives, so `clawbus state import` moves both layouts the same way. Only each key's current session moves:
older windows of a key (resets, rollovers) are OpenClaw's archives, like its `.jsonl.reset.*` files.

Reading needs no newer SQLite than Python's: the CHECKs that do (`octet_length`) only run on writes.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any


class AgentDbError(ValueError):
    """The database cannot be read as an OpenClaw agent database (the reason is the message)."""


def read_agent_db(path: Path) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """`(index, transcripts)`: session key → entry, session id → transcript lines, from `path`."""
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            nodes = db.execute(
                "SELECT session_key, current_session_id, entry_json FROM session_nodes"
            ).fetchall()
            index: dict[str, dict[str, Any]] = {}
            transcripts: dict[str, list[dict[str, Any]]] = {}
            for key, session_id, entry_json in nodes:
                entry = json.loads(entry_json) if entry_json else {}
                index[str(key)] = {**entry, "sessionId": str(session_id)}
                rows = db.execute(
                    "SELECT seq, event_json FROM transcript_events WHERE session_id = ? ORDER BY seq",
                    (session_id,),
                ).fetchall()
                if any(text is None for _seq, text in rows):
                    raise AgentDbError(
                        f"session {session_id} has compressed (cold) events; `openclaw "
                        "doctor` can expand them before the import"
                    )
                transcripts[str(session_id)] = [json.loads(text) for _seq, text in rows]
    except (sqlite3.Error, json.JSONDecodeError) as exc:
        raise AgentDbError(str(exc)) from exc
    return index, transcripts
