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


async def test_an_import_scopes_legacy_keys_to_their_agent_and_drops_malformed_ones(tmp_path: Path) -> None:
    from clawbus.openclaw.state_dir import AgentSessions, OpenClawDir
    from clawbus.openclaw.state_import import _import_sessions
    from clawbus.openclaw.state_transfer import TransferReport

    def transcript(session_id: str) -> list[dict[str, object]]:
        return [{"type": "session", "version": 1, "id": session_id, "timestamp": "2026-11-25T02:00:00.000Z"}]

    entry = {"updatedAt": 1_764_036_000_000}
    sessions = AgentSessions(
        index={"telegram:group:-100": {"sessionId": "s1", **entry}, "agent::x": {"sessionId": "s2", **entry}},
        transcripts={"s1": transcript("s1"), "s2": transcript("s2")},
    )
    index = LocalSessionIndex(tmp_path / "sessions")
    adapter = SessionsAdapter(index, LocalTranscriptStore(tmp_path / "sessions"), ["work"])
    report = TransferReport()
    await _import_sessions(OpenClawDir(sessions={"work": sessions}), adapter, report, False, lambda _: None)
    assert sorted(await index.entries("work")) == ["agent:work:telegram:group:-100"]
    assert [row[3] for row in report.rows] == [
        "1 lines, agent:work:telegram:group:-100",
        "1 lines, malformed key",
    ]
