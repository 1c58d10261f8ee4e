"""Test helpers: polling with a deadline (never sleep-and-hope), free ports, stage processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from clawbus.agent.tools.browser_playwright import CHROMIUM_ARGS
from clawbus.cli.stage_forker import Forker
from clawbus.local.supervisor import Stage, StageProcess, Supervisor

if TYPE_CHECKING:
    from playwright.async_api import Page

T = TypeVar("T")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    check: Callable[[], T | None], timeout: float = 10.0, interval: float = 0.1, what: str = ""
) -> T:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or check}")
        time.sleep(interval)


async def eventually(
    check: Callable[[], Awaitable[T | None]], timeout: float = 10.0, interval: float = 0.1, what: str = ""
) -> T:
    """Async `wait_for`."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or check}")
        await asyncio.sleep(interval)


def drain_queue(
    sqs: Any, url: str, expect: int = 0, timeout: float = 10, *, mid_turn_copies: bool = True
) -> list[dict[str, Any]]:
    """Every message on a queue (a boto3 SQS client and its URL), deleted, each body's JSON with its
    `_group`; keeps receiving until `expect` arrived or `timeout` passed. Without `mid_turn_copies`,
    the control-lane copies of ordinary messages (`steer`, `interrupt`: ingress sends one beside each
    message of a steer channel, docs/queue.md) are deleted but neither returned nor counted."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["All"]
        ).get("Messages", [])
        for message in batch:
            body = json.loads(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            if mid_turn_copies or body.get("control") not in ("steer", "interrupt"):
                got.append({**body, "_group": message["Attributes"]["MessageGroupId"]})
        if not batch and (len(got) >= expect or time.monotonic() > deadline):
            return got


stage = Stage.clawbus  # a `clawbus <args>` child process that is ready when it logs `ready`


def post_telegram(ingress_url: str, update: dict[str, Any], secret: str) -> None:
    """Deliver a Telegram update to ingress's webhook, signed with `secret`, asserting it was taken."""
    import httpx

    from clawbus.channels.telegram.inbound import signed_headers

    sent = httpx.post(
        f"{ingress_url}/webhooks/telegram",
        content=json.dumps(update).encode(),
        headers=signed_headers(secret),
        timeout=10,
    )
    assert sent.status_code == 200, sent.text


class WorkerForker:
    """This test process's stage forker (`cli/stage_forker.py`), shared by every supervisor it makes:
    `clawbus <stage>` is forked from warm imports, as `clawbus up`'s second wave is (0.2-0.5 CPU-s to
    ready instead of 1.3-2.5 for a fresh interpreter), and still its own process with its own session,
    log, environment and exit code. A supervisor's `stop_all` leaves it running for the next one; the
    session fixture `stage_forker` (tests/conftest.py) starts and stops it."""

    def __init__(self, forker: Forker) -> None:
        self.forker = forker

    def spawn(self, args: list[str], env: dict[str, str], listen_fd: int | None) -> StageProcess | None:
        """See `Forking.spawn` (the first waits for the forker's imports)."""
        self.forker.await_ready()
        return self.forker.spawn(args, env, listen_fd)

    def stop(self) -> None:
        """Not at a supervisor's `stop_all`: the forker serves the whole run."""

    def pid(self) -> int | None:
        """See `Forking.pid`."""
        return self.forker.pid()


WORKER_FORKER: list[WorkerForker] = []  # set by the `stage_forker` session fixture


def run_cli(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    """`clawbus ARGS` with exactly `env`, as `subprocess.run(..., capture_output=True, text=True)` runs it
    (its exit code, stdout and stderr; `subprocess.TimeoutExpired` after `timeout` seconds, the command
    killed), forked from this process's stage forker when it runs (one CPU-s less than a fresh
    interpreter's imports), else spawned."""
    argv = [sys.executable, "-m", "clawbus.cli", *args]
    process = None
    if WORKER_FORKER:
        forker = WORKER_FORKER[0].forker
        forker.await_ready()
        out_read, out_write = os.pipe()
        try:
            process = forker.spawn(args, env, None, stdout_fd=out_write)
        finally:
            os.close(out_write)
        if process is None:
            os.close(out_read)
    if process is None:
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert process.stderr is not None
    streams = {"out": os.fdopen(out_read, "rb"), "err": process.stderr}
    read: dict[str, bytes] = {}
    readers = [
        threading.Thread(target=lambda n=name, f=stream: read.__setitem__(n, f.read()), daemon=True)
        for name, stream in streams.items()
    ]
    for reader in readers:
        reader.start()
    deadline = time.monotonic() + timeout
    try:
        code = process.wait(timeout)
        for reader in readers:
            reader.join(max(0.0, deadline - time.monotonic()))
        if any(reader.is_alive() for reader in readers):
            raise subprocess.TimeoutExpired(argv, timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise
    finally:
        for stream in streams.values():
            stream.close()

    def text(name: str) -> str:  # as text=True decodes: the locale's encoding, universal newlines
        return read[name].decode().replace("\r\n", "\n").replace("\r", "\n")

    return subprocess.CompletedProcess(argv, code, text("out"), text("err"))


def stage_supervisor(log_dir: Path, env: dict[str, str]) -> Supervisor:
    """The supervisor `clawbus up` uses, for tests that start stages themselves; `clawbus <stage>`
    stages are forked by this process's `WorkerForker` (others, and any the forker cannot fork, are
    spawned)."""
    base_env = {**env, "PYTHONUNBUFFERED": "1", "PATH": os.environ.get("PATH", "")}
    return Supervisor(log_dir, base_env, forker=WORKER_FORKER[0] if WORKER_FORKER else None)


def start_up(
    data_dir: Path, ports: dict[str, int], *flags: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str]:
    """Run `clawbus up` as a user would (ports by flag) until its banner says it is ready; the process
    and what it printed so far. Fails the test, with that output, when `up` ends first."""
    argv = [sys.executable, "-m", "clawbus.cli", "up", "--data-dir", str(data_dir), *flags]
    argv += [arg for name, port in ports.items() for arg in (f"--{name}-port", str(port))]
    up = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert up.stdout is not None
    output: list[str] = []
    for line in up.stdout:
        output.append(line)
        if "Ctrl-C stops everything" in line:
            return up, "".join(output)
    up.wait()
    pytest.fail("clawbus up ended before it was ready:\n" + "".join(output))


@contextlib.asynccontextmanager
async def chromium_page() -> AsyncIterator[Page]:
    """A page of a fresh headless Chromium (Debian's, or `CLAWBUS_CHROMIUM`), launched the way the agent's
    browser tool launches it; closed on exit."""
    from playwright.async_api import async_playwright

    chromium = os.environ.get("CLAWBUS_CHROMIUM", "/usr/bin/chromium")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium, args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            yield await browser.new_page()
        finally:
            await browser.close()


def echo(text: str, turn: int = 1, engine: str = "native") -> str:
    """The offline echo model's reply to `text` as the `turn`-th user turn of its session, written out
    (not computed by the code under test), so a test sees history kept or lost."""
    return f"({engine} · offline echo · turn {turn}) You said: {text}"


def openclaw_runtime() -> Path | None:
    """An install of Node 24 + OpenClaw for the engine's tests: `CLAWBUS_TEST_OPENCLAW_RUNTIME` (CI's),
    /tmp/ocrt (development), or the one `clawbus up --engine openclaw` made; None when there is none."""
    candidates = [os.environ.get("CLAWBUS_TEST_OPENCLAW_RUNTIME"), "/tmp/ocrt", "~/.clawbus/openclaw-runtime"]
    for candidate in candidates:
        if candidate and (Path(candidate).expanduser() / "node_modules/.bin/openclaw").exists():
            return Path(candidate).expanduser()
    return None


NO_OPENCLAW = (
    "no Node 24 + OpenClaw installed (set CLAWBUS_TEST_OPENCLAW_RUNTIME to a dir holding "
    "node_modules/.bin/openclaw, or run 'clawbus up --engine openclaw' once)"
)


def lose_landed_responses(client: Any, operation: str, times: int) -> list[int]:
    """Make botocore retry the first `times` calls of `operation` (`s3.PutObject`, `dynamodb.PutItem`)
    whose first attempt landed, as it does when the response is lost (a read timeout, a connection reset
    after the request went out): the server did the write, the client never heard. Returns the statuses
    of those landed attempts (as they happen)."""
    landed: list[int] = []

    def retry_a_landed_attempt(response: Any, attempts: int, **_: Any) -> int | None:
        stored = response is not None and response[0].status_code == 200
        if len(landed) < times and attempts == 1 and stored:
            landed.append(response[0].status_code)
            return 0  # retry now, with the same request
        return None

    client.meta.events.register_first(f"needs-retry.{operation}", retry_a_landed_attempt)
    return landed
