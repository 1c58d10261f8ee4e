"""`clawbus up`'s watchdog policy and what `clawbus status` shows of it."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from clawbus.local.watchdog import BOARD_FILE, StageBoard, StageRecord, next_restart, read_board
from tests.conftest import Bus
from tests.ops.ops_cli import clawbus


def test_a_stage_is_restarted_with_doubling_delays_until_five_deaths_a_minute() -> None:
    assert next_restart([], now=100.0) == 0.5
    assert next_restart([90.0, 95.0], now=100.0) == 2.0
    assert next_restart([10.0, 20.0, 30.0, 35.0], now=100.0) == 0.5  # old restarts no longer count
    assert next_restart([60.0, 70.0, 80.0, 90.0, 95.0], now=100.0) is None  # a crash loop: give up


def _board(tmp_path: Path, *records: StageRecord, pid: int | None = None) -> None:
    board = StageBoard(supervisor_pid=pid or os.getpid(), updated_at=datetime.now(UTC), stages=list(records))
    (tmp_path / BOARD_FILE).write_text(board.model_dump_json())


def test_status_shows_deaths_and_restarts_and_fails_when_up_gave_up_on_a_stage(
    bus: Bus, tmp_path: Path
) -> None:
    _board(tmp_path, StageRecord(name="dispatcher", deaths=2, restarts=2, last_exit=-9))
    ran = clawbus(bus, tmp_path, "status", "--json")
    assert ran.code == 0, ran.err
    stages = ran.json()["stages"]
    assert stages["supervisor_running"] is True
    assert stages["stages"][0] | {"last_death_at": None} == {
        "name": "dispatcher",
        "pid": None,
        "state": "running",
        "deaths": 2,
        "restarts": 2,
        "last_exit": -9,
        "last_error": None,
        "last_death_at": None,
    }
    shown = clawbus(bus, tmp_path, "status")
    assert "dispatcher" in shown.out
    assert "restarts" in shown.out

    _board(tmp_path, StageRecord(name="egress-slack", state="gave_up", deaths=6, restarts=5), pid=2**22 + 7)
    ran = clawbus(bus, tmp_path, "status", "--json")
    assert ran.code == 1
    assert ran.json()["stages"]["supervisor_running"] is False
    assert read_board(tmp_path) is not None


def test_status_away_from_up_has_no_stages(bus: Bus, tmp_path: Path) -> None:
    assert clawbus(bus, tmp_path, "status", "--json").json()["stages"] is None
