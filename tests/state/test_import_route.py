"""Importing OpenClaw's sessions.json over an index where the dispatcher already left the owner's route."""

from __future__ import annotations

import json
from pathlib import Path

from clawbus.cli.state_sinks import SessionsAdapter
from clawbus.storage import (
    DeliveryContext,
    LocalSessionIndex,
    LocalTranscriptStore,
    trusted_route,
    with_last_route,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "openclaw_home" / "agents" / "main" / "sessions"
MAIN = "agent:main:main"


async def test_an_import_replaces_the_route_placeholder_and_keeps_the_owners_route(tmp_path: Path) -> None:
    index = LocalSessionIndex(tmp_path / "sessions")
    owner = DeliveryContext(channel="whatsapp", to="4915112345678", account_id="default")
    await index.update("main", MAIN, with_last_route(owner, "placeholder"))  # the owner wrote first
    imported = json.loads((FIXTURE / "sessions.json").read_text("utf-8"))[MAIN]
    adapter = SessionsAdapter(index, LocalTranscriptStore(tmp_path / "sessions"), ["main"])
    transcript = FIXTURE / f"{imported['sessionId']}.jsonl"
    lines = [json.loads(line) for line in transcript.read_text("utf-8").splitlines() if line.strip()]
    await adapter.import_session("main", MAIN, imported, lines)
    entry = await index.get("main", MAIN)
    assert entry is not None
    assert entry.session_id == imported["sessionId"]  # the imported conversation continues
    assert trusted_route(entry) == owner  # announcements still go where the owner last wrote
