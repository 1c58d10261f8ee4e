"""The supervised `openclaw gateway run` process: start, wait until it answers, restart when it dies, stop.

The gateway is one Node process (its own process group, so a stop reaches whatever it spawned) reading the
generated `openclaw.json` from `OPENCLAW_STATE_DIR`, with the stored model-provider keys in its environment
(`gateway_env`; never in a file). Ready means `GET /health` answers 200 within
`start_timeout_s`; a process that exits first, or never answers, is `Unavailable` with the tail of its
log. A watcher notices an exit while serving and starts it again (`agent.openclaw.exited` and
`agent.openclaw.restarted` events), with a short pause so a crash loop does not spin.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from clawbus.bus.errors import Unavailable
from clawbus.bus.logging import log_event
from clawbus.bus.private_files import append_private, make_private_dirs, private_dir, write_private

logger = logging.getLogger(__name__)

_RESTART_PAUSE_S = 1.0
_PR_SET_PDEATHSIG = 1
_STOP_GRACE_S = 10.0


@dataclass(frozen=True)
class GatewaySpec:
    """How to run the gateway: the binaries, its state dir and log, and where it listens."""

    openclaw: Path  # node_modules/.bin/openclaw
    node_bin: Path  # the directory holding Node 24's `node`: first on PATH (openclaw refuses Node 20)
    state_dir: Path
    log_path: Path
    port: int
    start_timeout_s: float

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _die_with_parent() -> None:
    """In the child before exec (Linux): SIGKILL when the agent process dies, even by SIGKILL, so a
    killed agent leaves no gateway behind (it runs in its own process group, out of the agent's)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def gateway_env(
    spec: GatewaySpec, base: Mapping[str, str], credentials: Mapping[str, SecretStr]
) -> dict[str, str]:
    """The gateway's environment: `base` (the agent's own), the stored model `credentials` for names
    `base` does not set (an operator's variable wins, as OpenClaw's own `.env` never overrides one),
    its state dir, and Node 24 first on PATH. The keys exist only here and in the child's memory."""
    env = {name: value.get_secret_value() for name, value in credentials.items() if name not in base}
    env.update(base)
    env["OPENCLAW_STATE_DIR"] = str(spec.state_dir)
    env["PATH"] = f"{spec.node_bin}{os.pathsep}{base.get('PATH', '')}"
    return env


class Gateway:
    """One supervised gateway; `start` returns once it answers, `stop` ends it (and its group)."""

    def __init__(
        self, spec: GatewaySpec, config: dict[str, Any], credentials: Mapping[str, SecretStr] | None = None
    ) -> None:
        self.spec = spec
        self._config = config
        self._credentials = dict(credentials or {})
        self._proc: asyncio.subprocess.Process | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._stopping = False
        self.ready = asyncio.Event()
        self.restarts = 0

    def _write_config(self) -> None:
        # OpenClaw's state dir holds the conversations (SQLite) and this config the gateway token: the
        # user's alone (0700 / 0600 from the first byte), whatever the umask of the process
        private_dir(self.spec.state_dir)
        write_private(self.spec.state_dir / "openclaw.json", json.dumps(self._config, indent=2).encode())

    async def _spawn(self) -> None:
        spec = self.spec
        env = gateway_env(spec, os.environ, self._credentials)
        make_private_dirs(spec.log_path.parent)
        with append_private(spec.log_path) as log:
            self._proc = await asyncio.create_subprocess_exec(
                str(spec.openclaw),
                "gateway",
                "run",
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        log_event(logger, "agent.openclaw.spawned", pid=self._proc.pid, port=spec.port)

    async def _wait_ready(self) -> None:
        assert self._proc is not None
        proc = self._proc
        deadline = time.monotonic() + self.spec.start_timeout_s
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if proc.returncode is not None:
                    raise Unavailable(
                        f"the OpenClaw gateway exited with {proc.returncode} before answering; "
                        f"its log ({self.spec.log_path}) ends:\n{_log_tail(self.spec.log_path)}"
                    )
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"{self.spec.base_url}/health")).status_code == 200:
                        return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.wait(), 0.25)
        await self._kill()
        raise Unavailable(
            f"the OpenClaw gateway did not answer within {self.spec.start_timeout_s:.0f} s; "
            f"its log ({self.spec.log_path}) ends:\n{_log_tail(self.spec.log_path)}"
        )

    async def start(self) -> None:
        """Write the config, start the gateway, return when it answers; then watch it."""
        self._write_config()
        started = time.monotonic()
        await self._spawn()
        await self._wait_ready()
        log_event(logger, "agent.openclaw.ready", start_ms=round((time.monotonic() - started) * 1000))
        self.ready.set()
        self._watcher = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            assert self._proc is not None
            code = await self._proc.wait()
            if self._stopping:
                return
            with contextlib.suppress(ProcessLookupError):  # whatever it left behind in its group
                os.killpg(self._proc.pid, signal.SIGKILL)
            self.ready.clear()
            log_event(logger, "agent.openclaw.exited", logging.WARNING, code=code)
            await asyncio.sleep(_RESTART_PAUSE_S)
            try:
                await self._spawn()
                await self._wait_ready()
            except Unavailable as exc:
                log_event(logger, "agent.openclaw.restart_failed", logging.ERROR, error=str(exc)[:500])
                continue
            self.restarts += 1
            self.ready.set()
            log_event(logger, "agent.openclaw.restarted", restarts=self.restarts)

    async def _kill(self) -> None:
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), _STOP_GRACE_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()

    async def stop(self) -> None:
        """Stop watching, then end the gateway and its process group."""
        self._stopping = True
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        await self._kill()
        self.ready.clear()
        log_event(logger, "agent.openclaw.stopped")

    async def exited(self, within_s: float) -> bool:
        """Whether the current process exits within `within_s` (the watcher then restarts it)."""
        if self._proc is None:
            return False
        try:
            await asyncio.wait_for(asyncio.shield(self._proc.wait()), within_s)
        except TimeoutError:
            return False
        return True

    @property
    def pid(self) -> int | None:
        """The running gateway's process id."""
        return self._proc.pid if self._proc is not None and self._proc.returncode is None else None
