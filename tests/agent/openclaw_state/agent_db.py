"""Rows of OpenClaw 2026.9's agent database as the gateway writes them, for tests of the readers."""

from __future__ import annotations

import json
from typing import Any

import zstandard

# What OpenClaw keeps beside a compressed event (its schema's CHECK requires the shape, not the values).
NAVIGATION = {
    "version": 1,
    "report": {"kind": "canonical"},
    **{part: {} for part in ("navigation", "reset", "model")},
    **{size: 0 for size in ("modelBytes", "modelWithoutCheckpointBytes", "withoutCustomDataBytes")},
}


def insert_event(
    db: Any, session_id: str, seq: int, body: dict[str, Any], *, compressed: bool = False
) -> None:
    """One `transcript_events` row as OpenClaw writes it: JSON text, or (larger events) zstd."""
    text = json.dumps(body)
    if not compressed:
        db.execute(
            "INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?,?,?,1)",
            (session_id, seq, text),
        )
        return
    db.execute(
        "INSERT INTO transcript_events (session_id, seq, created_at, event_zstd, event_utf8_bytes, "
        "navigation_json) VALUES (?,?,1,?,?,?)",
        (session_id, seq, zstandard.compress(text.encode()), len(text.encode()), json.dumps(NAVIGATION)),
    )
