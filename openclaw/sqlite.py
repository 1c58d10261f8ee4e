"""Sessions from OpenClaw 2026.9.x's agent database (`agents/<id>/agent/openclaw-agent.sqlite`), read-only.

Since the SQLite session store, OpenClaw keeps no `sessions/*.jsonl` for new sessions: `session_nodes`
maps each session key to its current session id and entry (the old `sessions.json` value, `entry_json`)
and `transcript_events` holds each session's transcript, one old JSONL line per row (`event_json`, or
zstd-compressed in `event_zstd`: OpenClaw compresses larger events as it writes them, a tool result of a
couple of KB already; `decode_event` reads both), by `seq`. `read_agent_db` turns them into the same
`sessions.json` index and transcripts the JSONL reader gives, so `clawbus state import` moves both
layouts the same way. Only each key's current session moves: older windows of a key (resets,
rollovers) are OpenClaw's archives, like its `.jsonl.reset.*` files.
`read_auth_stores` reads the model auth profile stores beside them (`openclaw/model_credentials.py`).

Reading needs no newer SQLite than Python's: the CHECKs that do (`octet_length`) only run on writes.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import zstandard


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
                    "SELECT seq, event_json, event_zstd FROM transcript_events WHERE session_id = ? "
                    "ORDER BY seq",
                    (session_id,),
                ).fetchall()
                transcripts[str(session_id)] = [decode_event(*row) for row in rows]
    except (sqlite3.Error, ValueError) as exc:
        raise AgentDbError(str(exc)) from exc
    return index, transcripts


def decode_event(seq: int, event_json: str | None, event_zstd: bytes | None) -> dict[str, Any]:
    """One `transcript_events` row's event: its `event_json`, else its decompressed `event_zstd`.

    Raises:
        ValueError: neither holds a JSON object (`zstandard.ZstdError` is one too).
    """
    if event_json is not None:
        text = event_json
    elif event_zstd is not None:
        text = zstandard.ZstdDecompressor().decompressobj().decompress(event_zstd).decode("utf-8")
    else:
        raise ValueError(f"transcript event {seq} holds neither event_json nor event_zstd")
    event = json.loads(text)
    if not isinstance(event, dict):
        raise ValueError(f"transcript event {seq} is not a JSON object")  # noqa: TRY004 (bad data, one kind)
    return event


# Where OpenClaw 2026.9 keeps auth profile stores: the agent database's `auth_profile_store` (one row,
# `store_json`) and, once `openclaw doctor --fix` relocated the shared store, `state/openclaw.sqlite`'s
# `config_machine_state` (`value_json`). Each is `{"version": …, "profiles": {id: profile}}`.
_AUTH_TABLES = (("auth_profile_store", "store_json"), ("config_machine_state", "value_json"))


def read_auth_stores(path: Path) -> list[dict[str, Any]]:
    """The auth profile stores (objects with `profiles`) in an OpenClaw database; none when it has none."""
    stores: list[dict[str, Any]] = []
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            for table, column in _AUTH_TABLES:
                if table in tables:
                    for (text,) in db.execute(f"SELECT {column} FROM {table}"):  # noqa: S608  # fixed names
                        value = json.loads(text) if text else None
                        if isinstance(value, dict) and isinstance(value.get("profiles"), dict):
                            stores.append(value)
    except (sqlite3.Error, json.JSONDecodeError) as exc:
        raise AgentDbError(str(exc)) from exc
    return stores
