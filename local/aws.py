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

import functools
import hashlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import ParamSpec, TypeVar

from clawbus.bus.errors import ConfigError, SnapshotUnusable
from clawbus.bus.logging import log_event
from clawbus.local.auth import LoopbackCredentials
from clawbus.local.aws_auth import guard
from clawbus.local.aws_journal import Journal
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


def keep_fifo_group_order() -> None:
    """Make moto's ReceiveMessage keep FIFO groups as SQS does, with concurrent consumers and after crashes.

    moto 5.2.5 walks the queue without a lock and decides once per call (from a copy taken before its long
    poll waits) which groups are busy, and counts a received message as busy until a walk passes it
    visible again. So a consumer killed holding several messages of a group got the group's *last* one
    handed out first, and two receives running at once (a restarted consumer beside the dead one's
    orphaned long poll) could each take a different message of one group. Here every pass of a receive
    runs under one lock, and a group is busy exactly while one of its received messages is still
    invisible (checked afresh on each pass, after each long-poll wait). A pass may still return several
    messages of one group, in order, as SQS does.

    The same lock covers every other change to a queue's messages (send, delete, visibility change,
    purge): moto makes them from request threads with no lock of its own, so a delete that discarded an
    in-flight message while a receive was walking the in-flight set raised `RuntimeError: Set changed
    size during iteration` (a 500; clients retried it), and a delete rebuilding the message list could
    drop a message sent meanwhile. The lock is reentrant: a receive that dead-letters adds to another
    queue under it.
    """
    import copy

    from moto.core.utils import unix_time
    from moto.sqs import models

    lock = threading.RLock()

    def take(
        backend: models.SQSBackend,
        queue: models.Queue,
        count: int,
        visibility_timeout: int,
        attribute_names: list[str],
    ) -> list[models.Message]:
        pending = queue.pending_messages
        busy = {m.group_id for m in pending if m.group_id is not None and not m.visible}
        pending.difference_update([m for m in pending if m.visible])  # their consumers timed out
        taken: list[models.Message] = []
        to_dead_letter: list[models.Message] = []
        for message in queue.messages:  # the visible ones, in the order they were sent
            if queue.fifo_queue and message.group_id in busy:
                continue
            policy = queue.redrive_policy
            if (
                queue.dead_letter_queue is not None
                and policy
                and (message.approximate_receive_count >= policy["maxReceiveCount"])
            ):
                to_dead_letter.append(message)
                continue
            if not backend.is_message_valid_based_on_retention_period(queue.name, message):
                break
            pending.add(message)
            message.mark_received(visibility_timeout=visibility_timeout)
            shown = copy.deepcopy(message)  # attribute filtering must not change the stored message
            models._filter_message_attributes(shown, attribute_names)
            taken.append(shown)
            if len(taken) >= count:
                break
        for message in to_dead_letter:
            queue._messages.remove(message)
            queue.dead_letter_queue.add_message(message)  # type: ignore[union-attr]
        return taken

    def receive_message(
        self: models.SQSBackend,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list[models.Message]:
        queue = self.get_queue(queue_name)
        deadline = unix_time() + wait_seconds_timeout
        while True:
            with lock:
                taken = take(self, queue, count, visibility_timeout, message_attribute_names or [])
            if taken or unix_time() >= deadline:
                return taken
            queue.wait_for_messages(1)  # outside the lock (and outside the snapshot gate)

    models.SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
    models.Queue.add_message = _under(lock, models.Queue.add_message)  # type: ignore[method-assign]
    models.Queue.delete_message = _under(lock, models.Queue.delete_message)  # type: ignore[method-assign]
    models.SQSBackend.change_message_visibility = _under(  # type: ignore[method-assign]
        lock, models.SQSBackend.change_message_visibility
    )
    models.SQSBackend.purge_queue = _under(lock, models.SQSBackend.purge_queue)  # type: ignore[method-assign]


def _under(lock: threading.RLock, method: Callable[P, R]) -> Callable[P, R]:
    """`method`, run holding `lock` (moto's own methods, made atomic with the receive's pass)."""

    @functools.wraps(method)
    def locked(*args: P.args, **kwargs: P.kwargs) -> R:
        with lock:
            return method(*args, **kwargs)

    return locked


def serve_local_aws(
    host: str,
    port: int,
    credentials: LoopbackCredentials,
    state_file: Path | None = None,
    snapshot_interval_s: float = 30.0,
    hint: str = "",
) -> None:
    """Serve moto on `host:port` until SIGTERM/SIGINT; logs `local_aws.started` once bound.

    Only requests signed with `credentials` are served (`local_aws_auth.guard`; `hint`, in each refusal,
    says where they are). With `state_file`: restores it first (refusing one that is not safe to load),
    saves it every `snapshot_interval_s` (0: only at stop) and after the server has stopped serving, so
    the file holds the final state.
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
    park_long_polls(gate)
    keep_fifo_group_order()
    moto = DomainDispatcherApplication(create_backend_app)
    if state:
        preload()
        restored = state.restore()
        replayed, refused = state.journal.replay(moto, state.journal_from)
        log_event(logger, "local_aws.journal.replayed", entries=replayed, refused=refused)
    app = guard(gate.wrap(state.journal.wrap(moto) if state else moto), credentials, hint)
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
        access_key_id=credentials.access_key_id,
    )
    server.serve_forever()
    stopping.set()
    if saver:
        saver.join()
    if state:
        state.save("stop")
    log_event(logger, "local_aws.stopped")
