"""Keeping `clawbus up`'s stages alive, as ECS and Lambda would, and saying what happened.

A stage process that dies is restarted after a backoff (0.5 s, doubling, at most 30 s). A stage that died
`RESTARTS_PER_WINDOW` times within `RESTART_WINDOW_S` is not restarted again: it is reported and `up`
stops (a crash loop needs a person, not a tight loop). The loopback AWS API is never restarted: its state
lives in memory and is gone with it.

Every death, restart and surrender is printed and kept in a small JSON file, `<data dir>/stages.json`
(`StageBoard`), which `clawbus status` reads when it runs on the same machine.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from clawbus.bus.private_files import private_dir, write_private
from clawbus.local.supervisor import Stage, StageFailed, Supervisor

RESTART_WINDOW_S = 60.0
RESTARTS_PER_WINDOW = 5
BOARD_FILE = "stages.json"

StageState = Literal["running", "restarting", "gave_up"]


def restart_delay(recent_restarts: int) -> float:
    """Backoff before restarting a stage that died: 0.5 s, then doubling, at most 30 s."""
    return float(min(30.0, 0.5 * 2**recent_restarts))


def next_restart(restarts: list[float], now: float) -> float | None:
    """The delay before restarting a stage that restarted at monotonic times `restarts`; None: give up."""
    recent = [t for t in restarts if now - t < RESTART_WINDOW_S]
    if len(recent) >= RESTARTS_PER_WINDOW:
        return None
    return restart_delay(len(recent))


class StageRecord(BaseModel):
    """What `status` shows about one stage."""

    name: str
    pid: int | None = None
    state: StageState = "running"
    deaths: int = 0
    restarts: int = 0
    last_exit: int | None = None
    last_error: str | None = None
    last_death_at: datetime | None = None


class StageBoard(BaseModel):
    """Every stage of one `clawbus up`, written by its supervisor."""

    supervisor_pid: int
    updated_at: datetime
    stages: list[StageRecord]

    def alive(self) -> bool:
        """Whether the `clawbus up` that wrote this still runs (else the board is history)."""
        try:
            os.kill(self.supervisor_pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def read_board(data_dir: Path) -> StageBoard | None:
    """The board under `data_dir`, or None when there is none (or it cannot be read)."""
    try:
        return StageBoard.model_validate_json((data_dir / BOARD_FILE).read_bytes())
    except (OSError, ValidationError):
        return None


class Watchdog:
    """Restarts dead stages of `supervisor`; `say`/`error` print a line for the user."""

    def __init__(
        self,
        supervisor: Supervisor,
        data_dir: Path,
        say: Callable[[str], None],
        error: Callable[[str], None],
    ) -> None:
        self.supervisor = supervisor
        self.path = data_dir / BOARD_FILE
        self.say = say
        self.error = error
        self.records: dict[str, StageRecord] = {}
        self._restarts: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        private_dir(data_dir)

    def run(self, stop: threading.Event, poll_s: float = 0.5) -> bool:
        """Watch until `stop`; False when the pipeline cannot go on (see the module docstring)."""
        self.write()
        while not stop.wait(poll_s):
            self.supervisor.reap_orphans()
            dead = self.supervisor.exited()
            if dead is None:
                continue
            if not self._revive(dead, stop):
                return False
        return True

    def _revive(self, dead: Stage, stop: threading.Event) -> bool:
        assert dead.process is not None
        code = dead.process.returncode
        why = f"{dead.name} exited ({code}): {dead.last_error()}"
        record = self._died(dead, code)
        if dead.name == "local-aws":
            self._gave_up(
                record,
                f"{why} — stopping; its state is as of its last periodic save "
                "(the data dir's aws-state.pickle)",
            )
            return False
        restarts = self._restarts.setdefault(dead.name, [])
        delay = next_restart(restarts, time.monotonic())
        if delay is None:
            self._gave_up(
                record,
                f"{why} — it died {record.deaths} times within a minute; stopping; see {dead.log_path}",
            )
            return False
        self.say(f"{why} — restarting it in {delay:.1f}s (see {dead.log_path})")
        if stop.wait(delay):
            return True
        try:
            self.supervisor.restart(dead)
        except StageFailed as exc:
            self._gave_up(record, f"restarting {dead.name} failed: {exc}")
            return False
        restarts.append(time.monotonic())
        with self._lock:
            record.restarts += 1
            record.state = "running"
        self.write()
        self.say(f"{dead.name} restarted")
        return True

    def _died(self, dead: Stage, code: int | None) -> StageRecord:
        with self._lock:
            record = self.records.setdefault(dead.name, StageRecord(name=dead.name))
            record.deaths += 1
            record.state = "restarting"
            record.last_exit = code
            record.last_error = dead.last_error()[:300]
            record.last_death_at = datetime.now(UTC)
        self.write()
        return record

    def _gave_up(self, record: StageRecord, message: str) -> None:
        with self._lock:
            record.state = "gave_up"
        self.write()
        self.error(message)

    def board(self) -> StageBoard:
        """The current state of every stage."""
        with self._lock:
            for stage in self.supervisor.stages:
                record = self.records.setdefault(stage.name, StageRecord(name=stage.name))
                record.pid = stage.process.pid if stage.process else None
            return StageBoard(
                supervisor_pid=os.getpid(),
                updated_at=datetime.now(UTC),
                stages=[r.model_copy() for r in self.records.values()],
            )

    def write(self) -> None:
        """Replace the board file (0600) at once (a reader never sees half of it); best effort."""
        with contextlib.suppress(OSError):
            write_private(self.path, self.board().model_dump_json(indent=1).encode())
