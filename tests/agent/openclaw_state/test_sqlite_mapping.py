"""Stored transcript entries → OpenClaw agent-database rows (pure)."""

from __future__ import annotations

from clawbus.agent.engines.openclaw_state.sqlite_transcript import active_rows, event_rows, identity_rows

ENTRIES = [
    {"type": "session", "version": 4, "id": "s1", "timestamp": "2026-12-04T12:00:00.000Z"},
    {"type": "model_change", "id": "a", "parentId": None, "timestamp": "2026-12-04T12:00:01.000Z"},
    {"type": "message", "id": "b", "parentId": "a", "message": {"role": "user", "content": "hi ✓"}},
    {"type": "custom", "customType": "model-snapshot", "id": "c", "parentId": "b"},
    {"type": "message", "id": "d", "parentId": "c", "message": {"role": "assistant", "content": "ok"}},
]


def test_each_entry_is_one_event_row_in_order_with_its_utf8_size_and_time() -> None:
    rows = event_rows("s1", ENTRIES, now_ms=7)
    assert [(r[0], r[1]) for r in rows] == [("s1", n) for n in range(5)]
    assert rows[0][3] == 1796385600000  # the entry's own timestamp, in epoch ms
    assert rows[2][3] == 7  # no timestamp: now
    assert rows[2][4] == len(rows[2][2].encode("utf-8"))


def test_identities_carry_type_and_parent() -> None:
    rows = identity_rows("s1", ENTRIES, now_ms=7)
    assert [(r[1], r[2], r[3], r[4]) for r in rows][1:3] == [
        ("a", 1, "model_change", None),
        ("b", 2, "message", "a"),
    ]


def test_the_projection_is_every_event_after_the_header_with_messages_numbered() -> None:
    assert active_rows("s1", ENTRIES) == [
        ("s1", 0, 1, None),
        ("s1", 1, 2, 0),
        ("s1", 2, 3, None),
        ("s1", 3, 4, 1),
    ]
