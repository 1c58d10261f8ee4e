"""The embedded default's AWS API: moto's server mode on loopback.

A real HTTP endpoint that boto3 and aiobotocore talk to exactly as they talk to AWS (only the endpoint
URL differs). moto holds its state in memory; with a state file (`clawbus local-aws --state-file`,
which `clawbus up` passes) that state outlives the process: it is restored before the first request,
saved every `snapshot_interval_s` while serving and once more after the server stopped serving, and
every change between two snapshots is journaled before it is answered, so a kill -9 loses nothing
(see `local.aws_state` for the format, `local.aws_journal` for the journal, `local.request_gate` for
how a snapshot stays consistent). Without one it
starts empty every time. It serves only requests signed with the run's key pair (`local.aws_auth`);
`/moto-api/*` (reset clears everything) only with that pair's secret as a bearer token.
"""

from __future__ import annotations

import hashlib
import logging
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import ParamSpec, TypeVar

from clawbus.bus.errors import ConfigError, SnapshotUnusable
from clawbus.bus.logging import log_event
from clawbus.local.auth import LoopbackCredentials
from clawbus.local.aws_auth import guard
from clawbus.local.aws_dynamodb import batch_inserts, serialise_dynamodb
from clawbus.local.aws_fifo import end_long_polls, keep_fifo_group_order
from clawbus.local.aws_journal import Journal
from clawbus.local.aws_s3 import serialise_object_writes
from clawbus.local.aws_sns import serialise_sns
from clawbus.local.aws_ssm import import_ssm
from clawbus.local.aws_state import (
    capture,
    move_aside,
    preload,
    read_header,
    read_trusted,
    restore,
    write_atomically,
)
from clawbus.local.request_gate import RequestGate, park_long_polls

logger = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")


def _digest(data: bytes) -> bytes:
    """What identifies a snapshot's state: its pickle, not its header (which holds the time of saving)."""
    return hashlib.sha256(read_header(data)[1]).digest()


class StateFile:
    """Where the loopback API's state lives between runs: restored at start, saved while serving."""

    def __init__(self, path: Path, gate: RequestGate) -> None:
        self.path = path
        self._gate = gate
        self._last_digest = b""
        self.journal = Journal(path)
        self.journal_from = 0  # the restored snapshot's first journal segment

    def restore(self) -> bool:
        """Put the saved state back; True if there was one. An unusable file is moved aside, not fatal.

        Raises:
            ConfigError: the file is not safe to load (another owner, or writable by others); fatal.
        """
        try:
            data = read_trusted(self.path)
        except FileNotFoundError:
            return False  # the journal may still hold changes: `replay_journal`
        except ConfigError as exc:
            log_event(logger, "local_aws.state.refused", logging.ERROR, path=str(self.path), error=str(exc))
            raise
        try:
            header = restore(data)
        except SnapshotUnusable as exc:
            moved = move_aside(self.path, "corrupt")
            self.journal.move_aside("corrupt")  # changes to a state that is gone
            log_event(
                logger,
                "local_aws.state.rejected",
                logging.WARNING,
                path=str(self.path),
                moved_to=str(moved),
                reason=str(exc),
                error=f"the saved AWS state could not be restored: {exc}; starting empty, "
                f"the old file is kept as {moved}",
            )
            return False
        self._last_digest = _digest(data)
        self.journal_from = header.journal_from
        log_event(
            logger,
            "local_aws.state.restored",
            path=str(self.path),
            saved_at=header.saved_at.isoformat(),
            age_s=round((datetime.now(UTC) - header.saved_at).total_seconds(), 1),
            services=header.services,
            bytes=len(data),
        )
        return True

    def save(self, reason: str) -> None:
        """Snapshot now (requests wait meanwhile) and write it if it changed; logs, never raises."""
        started = time.monotonic()
        try:
            with self._gate.paused():
                held = time.monotonic()
                segment = self.journal.rotate()  # what follows this state goes to the new segment
                data = capture(journal_from=segment)
                held_ms = (time.monotonic() - held) * 1000
            digest = _digest(data)
            if digest == self._last_digest:
                return  # the file on disk still names the older segments it needs: they stay
            write_atomically(self.path, data)
            self._last_digest = digest
            self.journal.drop_before(segment)
        except Exception as exc:  # a background job's outermost guard: the next save may work
            log_event(
                logger,
                "local_aws.state.save_failed",
                logging.ERROR,
                path=str(self.path),
                reason=reason,
                error=f"{type(exc).__name__}: {exc}",
            )
            return
        log_event(
            logger,
            "local_aws.state.saved",
            logging.INFO if reason == "stop" else logging.DEBUG,
            path=str(self.path),
            reason=reason,
            bytes=len(data),
            held_ms=round(held_ms, 1),
            duration_ms=round((time.monotonic() - started) * 1000, 1),
        )

    def save_every(self, interval_s: float, stop: threading.Event) -> None:
        """Save every `interval_s` until `stop` is set (the final save is the caller's)."""
        while not stop.wait(interval_s):
            self.save("periodic")


def serve_local_aws(
    host: str,
    port: int,
    credentials: LoopbackCredentials,
    state_file: Path | None = None,
    snapshot_interval_s: float = 30.0,
    hint: str = "",
    dedup_window_s: float = 300.0,
) -> None:
    """Serve moto on `host:port` until SIGTERM/SIGINT; logs `local_aws.started` once bound.

    Only requests signed with `credentials` are served (`local_aws_auth.guard`; `hint`, in each refusal,
    says where they are). With `state_file`: restores it first (refusing one that is not safe to load),
    saves it every `snapshot_interval_s` (0: only at stop) and after the server has stopped serving, so
    the file holds the final state.
    """
    from clawbus.local.aws_server import MotoDispatcher, make_server  # moto: only in this process

    gate = RequestGate()
    state = StateFile(state_file, gate) if state_file else None
    restored = False
    keep_fifo_group_order(dedup_window_s)
    park_long_polls(gate)  # around the long poll's wait keep_fifo_group_order made
    serialise_sns()
    batch_inserts()
    serialise_dynamodb()
    serialise_object_writes()
    import_ssm()  # before a request or `preload` imports it with all of EC2
    moto = MotoDispatcher()
    if state:
        preload()
        restored = state.restore()
        replayed, refused = state.journal.replay(moto, state.journal_from)
        log_event(logger, "local_aws.journal.replayed", entries=replayed, refused=refused)
    app = guard(gate.wrap(state.journal.wrap(moto) if state else moto), credentials, hint)
    server = make_server(host, port, app)
    server.prepare()  # bound from here on: `local_aws.started` means it
    stopping = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()
        end_long_polls()  # a waiting receive answers now, so stopping does not wait out its 20 s
        threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    saver = None
    if state and snapshot_interval_s > 0:
        saver = threading.Thread(target=state.save_every, args=(snapshot_interval_s, stopping), daemon=True)
        saver.start()
    log_event(
        logger,
        "local_aws.started",
        url=f"http://{host}:{port}",
        state_file=str(state_file) if state_file else None,
        restored=restored,
        access_key_id=credentials.access_key_id,
    )
    server.serve()
    stopping.set()
    if saver:
        saver.join()
    if state:
        state.save("stop")
    log_event(logger, "local_aws.stopped")
