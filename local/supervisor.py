"""Running the stages as child processes, the way `clawbus up` does.

Each stage is its own process (as each is its own service in AWS). A child's stderr (JSON log lines) goes
to `<data_dir>/logs/<stage>.log` (created 0600 in a 0700 directory: logs name sessions, chats and
errors); the supervisor watches it for the stage's `*.started` event to know it is
ready. Children die with the supervisor (Linux parent-death signal), so nothing is orphaned even if
`clawbus up` itself is killed; on a normal stop they get SIGTERM in reverse start order, then SIGKILL
after a grace period. The parent-death signal follows the *thread* that started a child (prctl
PR_SET_PDEATHSIG), so a thread that starts or restarts stages must outlive them.

A stage with `listen` gets its listening socket from the supervisor (`bus/listen.py`), bound once and
kept open across the stage's restarts, so a connection made while the stage is being restarted waits
for the next process instead of being refused.

With a forker (`clawbus up` passes `cli/stage_forker.py`'s), a `clawbus <stage>` is forked from a process
that has already imported what every stage imports, and spawned the usual way whenever the forker
cannot; either way it is a process of its own that the supervisor waits for, signals and reads alike.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

from clawbus.bus.listen import LISTEN_FD_ENV, listening_socket
from clawbus.bus.private_files import append_private, private_dir
from clawbus.local.forked import die_with_parent, reap_orphans

# A stage's least time to stop after its SIGTERM, even when the stages stopped before it used up the shared
# grace (a loaded machine: each takes seconds to exit); killing it sooner would lose what it was finishing.
MIN_STOP_GRACE_S = 5.0


class StageProcess(Protocol):
    """What the supervisor uses of a stage's process: a `subprocess.Popen` or a `ForkedProcess`."""

    pid: int
    stderr: IO[bytes] | None

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def send_signal(self, sig: int) -> None: ...

    def kill(self) -> None: ...


class Forking(Protocol):
    """What forks `clawbus <stage>` from warm imports (`cli/stage_forker.py`'s `Forker`)."""

    def spawn(self, args: list[str], env: dict[str, str], listen_fd: int | None) -> StageProcess | None:
        """The forked stage, or None when it cannot (the supervisor then spawns it itself)."""

    def stop(self) -> None:
        """Stop forking (at `stop_all`)."""

    def pid(self) -> int | None:
        """The forker's own process id (None: not running)."""


class StageFailed(Exception):
    """A stage did not start, or exited while it should be running."""


@dataclass
class Stage:
    """One child process: its command line, its environment, and what it logs when ready."""

    name: str
    argv: list[str]
    ready_event: str
    env: dict[str, str] = field(default_factory=dict)
    stop_grace_s: float | None = None  # its own grace at stop, instead of what is left of the shared one
    process: StageProcess | None = None
    log_path: Path | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=20))
    ready: threading.Event = field(default_factory=threading.Event)
    stopping: bool = False  # asked to stop: its exit is expected, not a death to restart
    spawned_at: float | None = None  # monotonic time of its (latest) spawn
    ready_after_s: float | None = None  # seconds from that spawn to its ready event
    listen: tuple[str, int] | None = None  # host, port: the supervisor holds it across restarts
    command: tuple[str, ...] | None = None  # `clawbus <command>`: what a forker may fork instead

    @classmethod
    def clawbus(
        cls,
        name: str,
        ready: str,
        *args: str,
        env: dict[str, str] | None = None,
        listen: tuple[str, int] | None = None,
    ) -> Stage:
        """A stage running `clawbus <args>` in this interpreter, ready when it logs `ready`."""
        argv = [sys.executable, "-m", "clawbus.cli", *args]
        return cls(name, argv, ready, env=env or {}, listen=listen, command=args)

    def last_error(self) -> str:
        """The most telling recent log line (an error's message, else the last line)."""
        for line in reversed(self.tail):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                return line
            if record.get("level") in ("ERROR", "CRITICAL"):
                return str(record.get("error") or record.get("message") or record.get("event"))
        return self.tail[-1] if self.tail else "no output"


class Supervisor:
    """Starts stages, waits until each is ready, and stops them all."""

    def __init__(self, log_dir: Path, base_env: dict[str, str], forker: Forking | None = None) -> None:
        self.log_dir = log_dir
        self.base_env = base_env
        self.forker = forker  # forks `clawbus <stage>` stages from warm imports, when it can
        self.stages: list[Stage] = []
        self._listeners: dict[str, socket.socket] = {}  # by stage name, open until `stop_all`
        self._sessions: set[int] = set()  # every stage process started leads its own session
        private_dir(log_dir)

    def start(self, stage: Stage, timeout_s: float = 60.0) -> None:
        """Start `stage` and wait for its ready event; raises `StageFailed` with the reason."""
        self.start_all([stage], timeout_s)

    def start_all(
        self,
        stages: list[Stage],
        timeout_s: float = 60.0,
        on_ready: Callable[[Stage], None] | None = None,
    ) -> None:
        """Start `stages` at once (they do not depend on each other) and wait until all are ready.

        `on_ready` is called with each stage as it becomes ready, in the order they do (so `up` can say
        how long each took); the first stage that exits or misses the deadline raises `StageFailed`.
        """
        for stage in stages:
            self._spawn(stage)
        deadline = time.monotonic() + timeout_s
        waiting = list(stages)
        while waiting:
            for stage in list(waiting):
                assert stage.process
                if stage.ready.is_set():
                    waiting.remove(stage)
                    if on_ready:
                        on_ready(stage)
                elif stage.process.poll() is not None:
                    time.sleep(0.1)  # let the pump read the last lines
                    raise StageFailed(
                        f"{stage.name} exited ({stage.process.returncode}): {stage.last_error()}"
                    )
                elif time.monotonic() > deadline:
                    raise StageFailed(
                        f"{stage.name} did not start within {timeout_s:.0f}s; see {stage.log_path}"
                    )
            if waiting:
                waiting[0].ready.wait(0.02)

    def _spawn(self, stage: Stage) -> None:
        stage.log_path = self.log_dir / f"{stage.name}.log"
        stage.spawned_at = time.monotonic()
        stage.ready_after_s = None
        env = {**os.environ, **self.base_env, **stage.env}
        passed: tuple[int, ...] = ()
        if stage.listen is not None:
            passed = (self._listener(stage).fileno(),)
            env[LISTEN_FD_ENV] = str(passed[0])
        forked = None
        if self.forker is not None and stage.command is not None:
            forked = self.forker.spawn(list(stage.command), env, passed[0] if passed else None)
        stage.process = forked or subprocess.Popen(  # noqa: S603  # our own interpreter and module
            stage.argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C reaches the supervisor only; it stops children in order
            preexec_fn=die_with_parent,
            pass_fds=passed,
        )
        self.stages.append(stage)
        self._sessions.add(stage.process.pid)
        threading.Thread(target=self._pump, args=(stage,), daemon=True).start()

    def _listener(self, stage: Stage) -> socket.socket:
        """The stage's listening socket: bound at its first start, the same one at every restart."""
        assert stage.listen is not None
        if (sock := self._listeners.get(stage.name)) is None:
            host, port = stage.listen
            try:
                sock = listening_socket(host, port)
            except OSError as exc:
                raise StageFailed(
                    f"{stage.name} cannot listen on {host}:{port} ({exc.strerror}): another program holds "
                    "the port; stop it or choose another port"
                ) from exc
            self._listeners[stage.name] = sock
        return sock

    def _pump(self, stage: Stage) -> None:
        assert stage.process
        assert stage.process.stderr
        assert stage.log_path
        with append_private(stage.log_path) as log:
            for raw in stage.process.stderr:
                log.write(raw)
                log.flush()
                line = raw.decode("utf-8", errors="replace").strip()
                stage.tail.append(line)
                if not stage.ready.is_set() and f'"event": "{stage.ready_event}"' in line:
                    if stage.spawned_at is not None:
                        stage.ready_after_s = time.monotonic() - stage.spawned_at
                    stage.ready.set()

    def restart(self, stage: Stage, timeout_s: float = 60.0) -> None:
        """Start a stage that exited again, with the same command line and environment."""
        self.stages.remove(stage)
        stage.process = None
        stage.stopping = False
        stage.ready = threading.Event()
        stage.tail.clear()
        self.start_all([stage], timeout_s)

    def kill(self, name: str) -> Stage:
        """SIGKILL the stage called `name` (a crash, for fault tests) and forget it."""
        stage = next(s for s in self.stages if s.name == name)
        assert stage.process
        stage.process.kill()
        stage.process.wait()
        self.stages.remove(stage)
        return stage

    def terminate(self, name: str, timeout_s: float = 30.0) -> int:
        """SIGTERM the stage called `name`, wait for it, forget it; its exit code."""
        stage = next(s for s in self.stages if s.name == name)
        assert stage.process
        stage.stopping = True
        stage.process.send_signal(signal.SIGTERM)
        code = stage.process.wait(timeout=timeout_s)
        self.stages.remove(stage)
        return code

    def exited(self) -> Stage | None:
        """A stage that has exited while it should be running (not one asked to stop), if any."""
        for stage in list(self.stages):
            if stage.stopping:
                continue
            if stage.process is not None and stage.process.poll() is not None:
                return stage
        return None

    def reap_orphans(self) -> list[int]:
        """Reap processes left behind by dead stages and reparented here (`local.forked.reap_orphans`),
        never a stage or the forker; the pids reaped."""
        own = {stage.process.pid for stage in self.stages if stage.process is not None}
        forker = self.forker.pid() if self.forker is not None else None
        return reap_orphans(own if forker is None else own | {forker}, self._sessions)

    def stop_all(self, grace_s: float = 15.0) -> list[tuple[str, int | None]]:
        """SIGTERM every stage in reverse start order, wait, SIGKILL stragglers; returns exit codes.

        Each stage has stopped before the one started before it gets its SIGTERM, so the first started
        (the loopback AWS API under `up`) stops last, once every consumer has drained into it. `grace_s`
        is shared, but each stage gets at least `MIN_STOP_GRACE_S` (or its own `stop_grace_s`).
        """
        results: list[tuple[str, int | None]] = []
        deadline = time.monotonic() + grace_s
        for stage in self.stages:
            stage.stopping = True
        for stage in reversed(self.stages):
            process = stage.process
            if process is None:
                continue
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                grace = stage.stop_grace_s
                if grace is None:
                    grace = max(MIN_STOP_GRACE_S, deadline - time.monotonic())
                try:
                    process.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            results.append((stage.name, process.returncode))
        self.stages.clear()
        for sock in self._listeners.values():  # no stage left to serve what would wait in them
            sock.close()
        self._listeners.clear()
        if self.forker is not None:
            self.forker.stop()
            self.forker = None
        return results
