"""The embedded default's AWS API: moto's server mode on loopback.

A real HTTP endpoint that boto3 and aiobotocore talk to exactly as they talk to AWS (only the endpoint
URL differs). moto holds its state in memory; with a state file (`clawbus local-aws --state-file`,
which `clawbus up` passes) that state outlives the process: it is restored before the first request,
saved every `snapshot_interval_s` while serving and once more after the server stopped serving (see
`local_aws_state` for the format, `request_gate` for how a snapshot stays consistent). Without one it
starts empty every time. `/moto-api/reset` clears it (tests).
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

from .errors import SnapshotUnusable
from .local_aws_state import capture, move_aside, preload, read_header, restore, write_atomically
from .logging import log_event
from .request_gate import RequestGate, park_long_polls

logger = logging.getLogger(__name__)


def _digest(data: bytes) -> bytes:
    """What identifies a snapshot's state: its pickle, not its header (which holds the time of saving)."""
    return hashlib.sha256(read_header(data)[1]).digest()


class StateFile:
    """Where the loopback API's state lives between runs: restored at start, saved while serving."""

    def __init__(self, path: Path, gate: RequestGate) -> None:
        self.path = path
        self._gate = gate
        self._last_digest = b""

    def restore(self) -> bool:
        """Put the saved state back; True if there was one. An unusable file is moved aside, not fatal."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return False
        try:
            header = restore(data)
        except SnapshotUnusable as exc:
            moved = move_aside(self.path, "corrupt")
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
                data = capture()
                held_ms = (time.monotonic() - held) * 1000
            digest = _digest(data)
            if digest == self._last_digest:
                return
            write_atomically(self.path, data)
            self._last_digest = digest
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


def keep_fifo_group_order() -> None:
    """Make moto count a FIFO group as busy only while one of its messages is in flight (invisible).

    moto 5.2.5 counts a received message as busy until some ReceiveMessage walks past it visible again,
    and decides which groups are busy from that. When a consumer dies holding several messages of one
    group, all of them time out together, and the walk frees the group only at the *last* of them — so it
    handed out the group's last message first. SQS frees the group as soon as its in-flight messages are
    visible again and redelivers them in order. With this, so does the loopback API (a receive then
    returns one message of such a group; the next ones follow once it is deleted, in order).
    """
    from moto.sqs.models import Queue

    def pending_message_groups(self: Queue) -> set[str]:
        return {m.group_id for m in self._pending_messages if m.group_id is not None and not m.visible}

    Queue.pending_message_groups = property(pending_message_groups)  # type: ignore[method-assign,assignment]


def serve_local_aws(
    host: str, port: int, state_file: Path | None = None, snapshot_interval_s: float = 30.0
) -> None:
    """Serve moto on `host:port` until SIGTERM/SIGINT; logs `local_aws.started` once bound.

    With `state_file`: restores it first, saves it every `snapshot_interval_s` (0: only at stop) and
    after the server has stopped serving, so the file holds the final state.
    """
    from moto.moto_server.werkzeug_app import (  # heavy import: only in this process
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    gate = RequestGate()
    state = StateFile(state_file, gate) if state_file else None
    restored = False
    if state:
        preload()
        restored = state.restore()
    park_long_polls(gate)
    keep_fifo_group_order()
    app = gate.wrap(DomainDispatcherApplication(create_backend_app))
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
    stopping = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

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
    )
    server.serve_forever()
    stopping.set()
    if saver:
        saver.join()
    if state:
        state.save("stop")
    log_event(logger, "local_aws.stopped")
