"""Stages started together: each reports when it is ready and how long it took, and one that dies while
the others start fails the whole wave with its name and its last words."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from clawbus.local.supervisor import Stage, StageFailed
from tests.helpers import stage_supervisor


def child(name: str, code: str) -> Stage:
    """A stage that runs `code` in a fresh interpreter and is ready when it logs `<name>.started`."""
    return Stage(name=name, argv=[sys.executable, "-c", code], ready_event=f"{name}.started")


def ready_after(name: str, delay_s: float) -> str:
    """Code that sleeps `delay_s`, logs its ready event, then idles until stopped."""
    started = json.dumps({"event": f"{name}.started"})
    return (
        f"import sys, time; time.sleep({delay_s}); print({started!r}, file=sys.stderr, flush=True); "
        "time.sleep(60)"
    )


def test_a_wave_reports_each_stage_as_it_becomes_ready_with_its_start_time(tmp_path: Path) -> None:
    supervisor = stage_supervisor(tmp_path / "logs", {})
    seen: list[tuple[str, float | None]] = []
    try:
        supervisor.start_all(
            [child("slow", ready_after("slow", 1.0)), child("quick", ready_after("quick", 0.0))],
            on_ready=lambda stage: seen.append((stage.name, stage.ready_after_s)),
        )
    finally:
        supervisor.stop_all(grace_s=5)
    assert [name for name, _ in seen] == ["quick", "slow"]  # in the order they became ready
    took = dict(seen)
    assert took["slow"] is not None
    assert took["slow"] >= 1.0  # from its spawn to its ready line, the sleep included


def test_a_stage_that_dies_while_its_wave_starts_fails_the_wave_by_name(tmp_path: Path) -> None:
    supervisor = stage_supervisor(tmp_path / "logs", {})
    dies = 'import sys; print(\'{"level": "ERROR", "error": "no table"}\', file=sys.stderr); sys.exit(3)'
    try:
        with pytest.raises(StageFailed, match=r"broken exited \(3\): no table"):
            supervisor.start_all([child("fine", ready_after("fine", 5.0)), child("broken", dies)])
    finally:
        supervisor.stop_all(grace_s=5)
