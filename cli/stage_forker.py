"""A warm parent for `clawbus up`'s stage processes (issue 21, a fast start).

Every stage is `clawbus <stage>` in its own process, and each spent most of its start importing the same
modules (pydantic and the settings, aiobotocore, uvicorn, OpenTelemetry, the configuration document's
loader) and parsing botocore's service models: about 0.9 of each second-wave stage's 1.3-2.5 CPU-s, on a
2-core machine. The forker does that once (`PRELOAD`, `bus.clients.warm_models`) while the loopback AWS
API starts and is provisioned, then forks each stage from that warm state (0.1-0.5 CPU-s each to ready). A
stage is still its own process with its own session, environment, log pipe, title and exit code; only the
imports are shared, and the pages they fill stay shared until written.

How a fork becomes a stage the supervisor can own (`Forker.spawn`):

1. `clawbus up` marks itself a child subreaper (Linux `PR_SET_CHILD_SUBREAPER`);
2. the forker forks a middle process, which forks the stage and exits at once: the orphaned stage is
   reparented to `up`, which can then wait for it, read its exit code and signal it as it does a child it
   spawned itself (`local/forked.py`'s `ForkedProcess`, the part of `subprocess.Popen` the supervisor uses);
3. the stage starts its own session, takes the log pipe `up` passed (`SCM_RIGHTS`) as its stderr, its
   environment from the request (ingress's held listening socket arrives the same way), waits until it
   is `up`'s child, asks for SIGTERM when `up` dies (as a spawned stage does), and runs `clawbus <stage>`.

The forker never holds a thread when it forks (it refuses, and `up` spawns the stage the ordinary way);
nothing it imports reads the environment or opens a client at import time. Whenever it is not there —
not started, not ready within `READY_TIMEOUT_S`, died, refused — `spawn` returns None and the supervisor
spawns `python -m clawbus.cli <stage>` as before, so a stage always starts.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, NoReturn

from clawbus.bus.listen import LISTEN_FD_ENV
from clawbus.bus.logging import log_event
from clawbus.bus.private_files import append_private, private_dir
from clawbus.local.forked import PR_SET_CHILD_SUBREAPER, ForkedProcess, die_with_parent, prctl

logger = logging.getLogger(__name__)

FORKER_FD_ENV = "CLAWBUS_FORKER_FD"  # the forker's end of its socket pair with `up`
READY_TIMEOUT_S = 30.0  # how long a spawn waits for the forker's imports before spawning the usual way
REPLY_TIMEOUT_S = 10.0
MAX_MESSAGE = 1 << 20

# What every stage imports before its own code (measured with `python -X importtime`, docs/performance.md)
# and each stage's own entry module. No platform SDK: those load only for an enabled channel, in the stage.
PRELOAD = (
    "clawbus.cli.main",
    "clawbus.cli.stage_run",
    "clawbus.bus.serve",
    "clawbus.bus.clients",
    "clawbus.bus.tracing",
    "clawbus.openclaw.document_settings",
    "clawbus.dispatcher.main",
    "clawbus.egress.main",
    "clawbus.ingress.http",
    "clawbus.scheduler.firer",
    "clawbus.agent.fleet",
    "clawbus.local.agentcore",
)


class Forker:
    """`up`'s side of the forker: starts it, asks it for stages, stops it."""

    def __init__(self, log_path: Path, env: dict[str, str]) -> None:
        self._lock = threading.RLock()
        self._ready = False
        self._broken = False
        self._sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        if not prctl(PR_SET_CHILD_SUBREAPER, 1):
            self._broken = True
            theirs.close()
            self.process: subprocess.Popen[bytes] | None = None
            return
        private_dir(log_path.parent)
        with append_private(log_path) as log:
            self.process = subprocess.Popen(  # our own interpreter and module
                [sys.executable, "-m", "clawbus.cli.stage_forker"],
                env={**os.environ, **env, FORKER_FD_ENV: str(theirs.fileno())},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
                preexec_fn=die_with_parent,
                pass_fds=(theirs.fileno(),),
            )
        theirs.close()

    def await_ready(self, timeout_s: float = READY_TIMEOUT_S) -> bool:
        """Wait up to `timeout_s` (0: not at all) for the forker's imports; whether it can fork now."""
        with self._lock:
            return self._ready_within(timeout_s)

    def _ready_within(self, timeout_s: float) -> bool:
        if self._ready or self._broken:
            return self._ready
        try:
            self._sock.settimeout(timeout_s or None)
            if timeout_s <= 0:
                self._sock.setblocking(False)
            hello = json.loads(self._sock.recv(MAX_MESSAGE) or b"{}")
        except (BlockingIOError, TimeoutError):
            if timeout_s <= 0:
                return False  # still importing
            hello = {}
        except (OSError, ValueError):
            hello = {}
        self._ready = bool(hello.get("ready"))
        self._broken = not self._ready
        return self._ready

    def spawn(
        self, args: list[str], env: dict[str, str], listen_fd: int | None, stdout_fd: int | None = None
    ) -> ForkedProcess | None:
        """Fork `clawbus <args>` with environment `env` (and ingress's listening socket; `stdout_fd` as its
        stdout, else /dev/null); None when the forker cannot (or is still importing: `await_ready`
        waits), so the caller spawns it the usual way."""
        with self._lock:
            if not self.await_ready(0):
                return None
            read_end, write_end = os.pipe()
            request = json.dumps({"args": args, "env": env, "stdout": stdout_fd is not None}).encode()
            fds = [write_end] if listen_fd is None else [write_end, listen_fd]
            fds += [] if stdout_fd is None else [stdout_fd]
            try:
                self._sock.settimeout(REPLY_TIMEOUT_S)
                socket.send_fds(self._sock, [request], fds)
                reply = json.loads(self._sock.recv(MAX_MESSAGE) or b"{}")
            except (OSError, ValueError):
                reply = {}
            finally:
                os.close(write_end)
            if not isinstance(reply.get("pid"), int):
                self._broken = True  # a refusal or a dead forker: every later stage spawns the usual way
                os.close(read_end)
                return None
            return ForkedProcess(reply["pid"], os.fdopen(read_end, "rb"))

    def pid(self) -> int | None:
        """See `Forking.pid`."""
        return None if self.process is None else self.process.pid

    def stop(self) -> None:
        """Close the socket (the forker exits when it reads the end) and wait for it."""
        self._sock.close()
        if self.process is not None and self.process.poll() is None:
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --- the forker process ---------------------------------------------------------------------------


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _await_adoption(up_pid: int) -> None:  # pragma: no cover - in the forked stage
    """Wait until the middle process has exited and `up` is this process's parent."""
    deadline = time.monotonic() + 10
    while os.getppid() != up_pid:
        if time.monotonic() > deadline:
            raise RuntimeError("the forked stage was not adopted by `clawbus up`")
        time.sleep(0.001)


def _become_stage(request: dict[str, Any], fds: list[int], up_pid: int) -> NoReturn:  # pragma: no cover
    """In the forked stage: its own session, stderr, environment and parent, then `clawbus <args>`
    (with Python's default logging, as a fresh interpreter has it: a stage configures its own)."""
    code = 1
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        stdout = fds.pop() if request.get("stdout") else null
        os.dup2(null, 0)
        os.dup2(stdout, 1)
        os.dup2(fds[0], 2)
        os.close(null)
        os.close(fds[0])
        if stdout != null:
            os.close(stdout)
        logging.root.handlers.clear()
        logging.root.setLevel(logging.WARNING)
        env: dict[str, str] = request["env"]
        if len(fds) > 1:
            env[LISTEN_FD_ENV] = str(fds[1])
        os.environ.clear()
        os.environ.update(env)
        from setproctitle import setproctitle  # the `local` extra (as moto): imported in `serve` already

        argv = [sys.executable, "-m", "clawbus.cli", *request["args"]]
        setproctitle(" ".join(argv))  # ps and top show what it is, as for a spawned stage
        _await_adoption(up_pid)
        die_with_parent()
        if os.getppid() != up_pid:  # `up` died before the line above: nothing would stop us
            os._exit(1)
        from clawbus.cli.main import main

        sys.argv = argv
        try:
            main(request["args"])
            code = 0
        except SystemExit as exc:
            code = _exit_code(exc.code)
        except KeyboardInterrupt:
            code = 130
        atexit._run_exitfuncs()
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)


def _fork_stage(request: dict[str, Any], fds: list[int], sock: socket.socket, up_pid: int) -> int:
    """Fork a stage through a middle process, so that `up` adopts it; its pid."""
    if threading.active_count() != 1:
        raise RuntimeError("the forker holds a thread; a fork now could copy a held lock")
    read_end, write_end = os.pipe()
    sys.stderr.flush()
    middle = os.fork()
    if middle == 0:  # pragma: no cover - the middle process
        try:
            os.close(read_end)
            stage = os.fork()
            if stage == 0:
                os.close(write_end)
                sock.close()
                _become_stage(request, fds, up_pid)
            os.write(write_end, str(stage).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pid_pipe:
        raw = pid_pipe.read()
    os.waitpid(middle, 0)
    return int(raw)


def serve(sock: socket.socket) -> None:
    """Import `PRELOAD`, say so, then fork a stage for each request until `up` closes the socket."""
    from setproctitle import getproctitle, setproctitle

    started = time.monotonic()
    setproctitle(getproctitle())  # claims argv's memory while the environment is whole (stage titles)
    for module in PRELOAD:
        importlib.import_module(module)
    from clawbus.bus.clients import warm_models

    warm_models()  # every stage's clients read them at start
    up_pid = os.getppid()
    sock.send(json.dumps({"ready": True}).encode())
    log_event(logger, "forker.ready", import_s=round(time.monotonic() - started, 2), modules=len(PRELOAD))
    while True:
        try:
            data, fds, _flags, _addr = socket.recv_fds(sock, MAX_MESSAGE, 3)
        except OSError:
            return
        if not data:
            return  # `up` closed its end
        try:
            reply: dict[str, Any] = {"pid": _fork_stage(json.loads(data), fds, sock, up_pid)}
        except (OSError, ValueError, RuntimeError) as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}"}
            log_event(logger, "forker.refused", logging.WARNING, error=reply["error"])
        finally:
            for fd in fds:
                os.close(fd)
        sock.send(json.dumps(reply).encode())


def main() -> None:  # pragma: no cover - the forker process's entry
    """`python -m clawbus.cli.stage_forker`, as `Forker` starts it."""
    from clawbus.bus.logging import configure_logging

    configure_logging("INFO")
    sock = socket.socket(fileno=int(os.environ.pop(FORKER_FD_ENV)))
    serve(sock)


if __name__ == "__main__":
    main()
