"""A stage process that `clawbus up` did not spawn itself but adopted: forked by the stage forker
(`cli/stage_forker.py`) through a middle process that exits at once, so that the stage is reparented to
`up`, a child subreaper (Linux `PR_SET_CHILD_SUBREAPER`). `up` then waits for it, reads its exit code and
signals it as it does a `subprocess.Popen` of its own (`ForkedProcess` is the part of `Popen` the
supervisor uses)."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Collection
from typing import IO

import psutil

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def prctl(option: int, value: int) -> bool:
    """Linux's prctl(2); False where it is not available."""
    if not sys.platform.startswith("linux"):
        return False
    return int(ctypes.CDLL("libc.so.6", use_errno=True).prctl(option, value, 0, 0, 0)) == 0


def die_with_parent() -> None:  # pragma: no cover - runs in a child, between fork and exec
    """SIGTERM this process when the thread that started it exits (Linux `PR_SET_PDEATHSIG`)."""
    prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def reap_orphans(own: Collection[int], sessions: Collection[int]) -> list[int]:
    """Reap the exited children of this process that are not in `own` (its stages and the forker); the
    pids reaped.

    As a child subreaper, `up` also inherits every process a stage leaves behind when the stage dies
    first (an OpenClaw gateway of a killed agent, a tool's subprocess): without a reaper each would stay
    a zombie until `up` exits, where init would have reaped it. Only zombies outside `own` and inside
    `sessions` (those the stages lead: a stage's descendants stay in its session) are reaped, so the exit
    code of a stage, of the forker, or of any other child of this process is still there for whoever
    waits for it."""
    reaped: list[int] = []
    for child in psutil.Process().children():
        if child.pid in own:
            continue
        try:
            if child.status() != psutil.STATUS_ZOMBIE or os.getsid(child.pid) not in sessions:
                continue
            pid, _ = os.waitpid(child.pid, os.WNOHANG)
        except (psutil.Error, OSError):  # gone, or reaped by someone else meanwhile
            continue
        if pid:
            reaped.append(pid)
    return reaped


class ForkedProcess:
    """A stage forked by the forker and reparented to this process: waited for, signalled and read like
    the `subprocess.Popen` of a stage spawned the usual way."""

    def __init__(self, pid: int, stderr: IO[bytes]) -> None:
        self.pid = pid
        self.stderr: IO[bytes] | None = stderr
        self.returncode: int | None = None
        self._lock = threading.Lock()  # the watchdog and the main thread may both poll

    def poll(self) -> int | None:
        """Its exit code if it has exited (reaping it), else None."""
        with self._lock:
            if self.returncode is None:
                try:
                    pid, status = os.waitpid(self.pid, os.WNOHANG)
                except ChildProcessError:  # not ours to reap: cannot happen once reparented
                    self.returncode = 255
                else:
                    if pid:
                        self.returncode = os.waitstatus_to_exitcode(status)
            return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for it to exit; raises `subprocess.TimeoutExpired` after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0.0)
            time.sleep(0.01)
        return code

    def send_signal(self, sig: int) -> None:
        """Signal it, unless it has already been reaped (its pid may be someone else's by then)."""
        if self.poll() is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL it."""
        self.send_signal(signal.SIGKILL)
