"""A real OpenClaw 2026.9.6 gateway: a conversation committed from one state dir goes on in a fresh one.

Two turns run on a gateway in state dir A and are committed to the stores; a second gateway in an empty
state dir B (a new microVM) is warmed up on another key, then `prepare` seeds the session, and the next
turn's model call carries the whole history: the echo model answers "turn 3". This also shows that a
running gateway reads rows written before a session's first turn (it keeps nothing about unseen keys).

Needs Node 24 and openclaw (CLAWBUS_TEST_OPENCLAW_RUNTIME, default /tmp/ocrt: an npm prefix holding both);
skipped without them. Run it under `flock /tmp/openclaw.lock`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from clawbus.agent.engines.openclaw_state import sqlite_transcript as sql
from clawbus.agent.engines.openclaw_state.stored_state import StoredOpenClawState
from clawbus.bus.errors import Unavailable
from clawbus.bus.storage import LocalSessionIndex, LocalTranscriptStore, LocalWorkspaceStore, SessionRef

from ...helpers import NO_OPENCLAW, free_port, openclaw_runtime, wait_for

RUNTIME = openclaw_runtime()
if RUNTIME is None:
    pytest.skip(NO_OPENCLAW, allow_module_level=True)
OPENCLAW = RUNTIME / "node_modules" / ".bin" / "openclaw"
KEY = "agent:main:webchat:dm:alice"
TOKEN = "test-gateway-token"

pytestmark = pytest.mark.slow


class _Echo(BaseHTTPRequestHandler):
    """An OpenAI-compatible model: says how many user turns it saw (OpenClaw's internal context skipped)."""

    def log_message(self, *_args: Any) -> None:
        pass

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        users = [
            m
            for m in request.get("messages", [])
            if m.get("role") == "user"
            and "BEGIN_OPENCLAW_INTERNAL_CONTEXT" not in json.dumps(m.get("content"))
        ]
        text = f"(echo · turn {len(users)})"
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        for delta, finish in (({"role": "assistant", "content": text}, None), ({}, "stop")):
            chunk = {"id": "c", "object": "chat.completion.chunk", "model": "echo"}
            chunk["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")


@pytest.fixture
def model_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


class Gateway:
    """`openclaw gateway run` on a state dir, headless and offline, stopped with its whole process group."""

    def __init__(self, state_dir: Path, model_url: str) -> None:
        self.port = free_port()
        self.state_dir = state_dir
        state_dir.mkdir(parents=True, exist_ok=True)
        config = {
            "gateway": {
                "mode": "local",
                "bind": "loopback",
                "port": self.port,
                "auth": {"mode": "token", "token": TOKEN},
                "controlUi": {"enabled": False},
                "http": {"endpoints": {"chatCompletions": {"enabled": True}}},
            },
            "update": {"checkOnStart": False},
            "models": {
                "catalogRefresh": {"enabled": False},
                "providers": {
                    "echo": {
                        "baseUrl": model_url,
                        "api": "openai-completions",
                        "apiKey": "x",
                        "models": [
                            {"id": "echo", "name": "echo", "contextWindow": 128000, "maxTokens": 4096}
                        ],
                    }
                },
            },
            "agents": {"defaults": {"model": {"primary": "echo/echo"}, "heartbeat": {"every": "0m"}}},
        }
        (state_dir / "openclaw.json").write_text(json.dumps(config))
        (state_dir / "home").mkdir(exist_ok=True)
        env = {
            **os.environ,
            "PATH": f"{OPENCLAW.parent}:{os.environ['PATH']}",
            "OPENCLAW_STATE_DIR": str(state_dir),
            "OPENCLAW_CONFIG_PATH": str(state_dir / "openclaw.json"),
            "HOME": str(state_dir / "home"),
        }
        self.log = (state_dir / "gateway.log").open("wb")
        self.process = subprocess.Popen(
            [str(OPENCLAW), "gateway", "run", "--port", str(self.port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self._listening, timeout=90, interval=0.5, what="the gateway to listen")

    def _listening(self) -> bool:
        assert self.process.poll() is None, (self.state_dir / "gateway.log").read_text()[-2000:]
        try:
            httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2)
        except httpx.TransportError:
            return False
        return True

    def turn(self, session_key: str, text: str) -> str:
        response = httpx.post(
            f"http://127.0.0.1:{self.port}/v1/chat/completions",
            headers={"authorization": f"Bearer {TOKEN}", "x-openclaw-session-key": session_key},
            json={"model": "openclaw", "messages": [{"role": "user", "content": text}]},
            timeout=120,
        )
        response.raise_for_status()
        return str(response.json()["choices"][0]["message"]["content"])

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


async def test_a_fresh_state_dir_and_gateway_continue_the_committed_conversation(
    model_url: str, tmp_path: Path
) -> None:
    if shutil.which("node", path=str(OPENCLAW.parent)) is None:
        pytest.skip("no Node 24 next to openclaw")
    transcripts = LocalTranscriptStore(tmp_path / "transcripts")
    index = LocalSessionIndex(tmp_path / "index")
    workspace = LocalWorkspaceStore(tmp_path / "workspace")
    await workspace.write("SOUL.md", "Be brief.")

    first = Gateway(tmp_path / "vm1", model_url)
    try:
        first.turn("agent:main:warmup", "warm up")
        state = StoredOpenClawState(transcripts, index, workspace)
        await state.prepare(KEY, first.state_dir)
        assert first.turn(KEY, "hello") == "(echo · turn 1)"
        await state.commit(KEY, first.state_dir)
        assert first.turn(KEY, "again") == "(echo · turn 2)"
        await state.commit(KEY, first.state_dir)
    finally:
        first.stop()
    entry = await index.get("main", KEY)
    assert entry is not None
    stored = await transcripts.page(SessionRef("main", entry.session_id))
    assert len(stored) == 2

    second = Gateway(tmp_path / "vm2", model_url)
    try:
        second.turn("agent:main:warmup", "warm up")  # the gateway is running and its database exists
        later = StoredOpenClawState(transcripts, index, workspace)
        await later.prepare(KEY, second.state_dir)
        assert (second.state_dir / "workspace" / "SOUL.md").read_text() == "Be brief."
        assert second.turn(KEY, "third") == "(echo · turn 3)"
        await later.commit(KEY, second.state_dir)
        db = sql.agent_db(second.state_dir, "main")
        assert sql.current_session_id(db, KEY) == entry.session_id
    finally:
        second.stop()
    assert len(await transcripts.page(SessionRef("main", entry.session_id))) == 3


class _FailingAppend:
    """The transcript store, whose next append fails."""

    def __init__(self, store: LocalTranscriptStore) -> None:
        self._store = store
        self.fail_next = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def append(self, ref: SessionRef, batch: Any) -> None:
        if self.fail_next:
            self.fail_next = False
            raise Unavailable("the transcript store is unreachable")
        await self._store.append(ref, batch)


async def test_a_retry_after_a_failed_commit_runs_on_the_committed_history_of_a_live_gateway(
    model_url: str, tmp_path: Path
) -> None:
    if shutil.which("node", path=str(OPENCLAW.parent)) is None:
        pytest.skip("no Node 24 next to openclaw")
    transcripts = _FailingAppend(LocalTranscriptStore(tmp_path / "transcripts"))
    index = LocalSessionIndex(tmp_path / "index")
    state = StoredOpenClawState(transcripts, index, LocalWorkspaceStore(tmp_path / "workspace"))  # type: ignore[arg-type]
    gateway = Gateway(tmp_path / "vm", model_url)
    try:
        gateway.turn("agent:main:warmup", "warm up")
        await state.prepare(KEY, gateway.state_dir)
        assert gateway.turn(KEY, "hello") == "(echo · turn 1)"
        await state.commit(KEY, gateway.state_dir)
        await state.prepare(KEY, gateway.state_dir)
        assert gateway.turn(KEY, "again") == "(echo · turn 2)"
        transcripts.fail_next = True
        with pytest.raises(Unavailable):
            await state.commit(KEY, gateway.state_dir)
        await state.prepare(KEY, gateway.state_dir)  # the retry, on the same live gateway
        assert gateway.turn(KEY, "again") == "(echo · turn 2)"  # not 3: the failed attempt is gone
        await state.commit(KEY, gateway.state_dir)
        await state.prepare(KEY, gateway.state_dir)
        assert gateway.turn(KEY, "third") == "(echo · turn 3)"
        await state.commit(KEY, gateway.state_dir)
    finally:
        gateway.stop()
    entry = await index.get("main", KEY)
    assert entry is not None
    assert len(await transcripts.page(SessionRef("main", entry.session_id))) == 3
