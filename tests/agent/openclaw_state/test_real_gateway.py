"""A real OpenClaw 2026.9.6 gateway: a conversation committed from one state dir goes on in a fresh one.

Two turns run on a gateway in state dir A and are committed to the stores; a second gateway in an empty
state dir B (a new microVM) is warmed up on another key, then `prepare` seeds the session, and the next
turn's model call carries the whole history: the echo answers "turn 3". This also shows that a running
gateway reads rows written before a session's first turn (it keeps nothing about unseen keys). The
gateways run as the engine runs them: its `Gateway`, its generated config, its offline echo.

Needs Node 24 and openclaw (CLAWBUS_TEST_OPENCLAW_RUNTIME, /tmp/ocrt, …): skipped without them. Holds
/tmp/openclaw.lock (`openclaw_lock`) while the gateways run.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from clawbus.agent.engines.openclaw.client import chat_turn
from clawbus.agent.engines.openclaw.config import gateway_config
from clawbus.agent.engines.openclaw.gateway import Gateway, GatewaySpec
from clawbus.agent.engines.openclaw_state import sqlite_transcript as sql
from clawbus.agent.engines.openclaw_state.stored_state import StoredOpenClawState
from clawbus.agent.models.echo_server import serve_echo
from clawbus.bus.errors import Unavailable
from clawbus.storage import LocalSessionIndex, LocalTranscriptStore, LocalWorkspaceStore, SessionRef
from tests.helpers import NO_OPENCLAW, echo, free_port, openclaw_runtime

RUNTIME = openclaw_runtime()
if RUNTIME is None:
    pytest.skip(NO_OPENCLAW, allow_module_level=True)
BIN = RUNTIME / "node_modules" / ".bin"
KEY = "agent:main:webchat:dm:alice"
TOKEN = "test-gateway-token"

pytestmark = pytest.mark.slow

Say = Callable[[str, str], Awaitable[str]]


@contextlib.asynccontextmanager
async def live_gateway(state_dir: Path) -> AsyncIterator[Say]:
    """A gateway on `state_dir` as the engine runs one, warmed up on a throwaway key; yields `say(key,
    text)`, the answer to one turn."""
    spec = GatewaySpec(
        openclaw=BIN / "openclaw",
        node_bin=BIN,
        state_dir=state_dir,
        log_path=state_dir.with_name(state_dir.name + ".log"),
        port=free_port(),
        start_timeout_s=120,
    )
    async with serve_echo("openclaw") as model_url, httpx.AsyncClient(timeout=120) as client:
        config = gateway_config(
            None, port=spec.port, token=TOKEN, echo_base_url=model_url, workspace=str(state_dir / "workspace")
        )
        gateway = Gateway(spec, config)
        await gateway.start()
        try:

            async def say(key: str, text: str) -> str:
                return await chat_turn(client, spec.base_url, TOKEN, key, text)

            await say("agent:main:warmup", "warm up")  # the gateway is running and its database exists
            yield say
        finally:
            await gateway.stop()


async def test_a_fresh_state_dir_and_gateway_continue_the_committed_conversation(
    tmp_path: Path, openclaw_lock: None
) -> None:
    transcripts = LocalTranscriptStore(tmp_path / "transcripts")
    index = LocalSessionIndex(tmp_path / "index")
    workspace = LocalWorkspaceStore(tmp_path / "workspace")
    await workspace.write("SOUL.md", "Be brief.")

    first = tmp_path / "vm1"
    async with live_gateway(first) as say:
        state = StoredOpenClawState(transcripts, index, workspace)
        await state.prepare(KEY, first)
        assert await say(KEY, "hello") == echo("hello", 1, "openclaw")
        await state.commit(KEY, first)
        assert await say(KEY, "again") == echo("again", 2, "openclaw")
        await state.commit(KEY, first)
    entry = await index.get("main", KEY)
    assert entry is not None
    stored = await transcripts.page(SessionRef("main", entry.session_id))
    assert len(stored) == 2

    second = tmp_path / "vm2"
    async with live_gateway(second) as say:
        later = StoredOpenClawState(transcripts, index, workspace)
        await later.prepare(KEY, second)
        assert (second / "workspace" / "SOUL.md").read_text() == "Be brief."
        assert await say(KEY, "third") == echo("third", 3, "openclaw")
        await later.commit(KEY, second)
        db = sql.agent_db(second, "main")
        assert sql.current_session_id(db, KEY) == entry.session_id
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
    tmp_path: Path, openclaw_lock: None
) -> None:
    transcripts = _FailingAppend(LocalTranscriptStore(tmp_path / "transcripts"))
    index = LocalSessionIndex(tmp_path / "index")
    state = StoredOpenClawState(transcripts, index, LocalWorkspaceStore(tmp_path / "workspace"))  # type: ignore[arg-type]
    vm = tmp_path / "vm"
    async with live_gateway(vm) as say:
        await state.prepare(KEY, vm)
        assert await say(KEY, "hello") == echo("hello", 1, "openclaw")
        await state.commit(KEY, vm)
        await state.prepare(KEY, vm)
        assert await say(KEY, "again") == echo("again", 2, "openclaw")
        transcripts.fail_next = True
        with pytest.raises(Unavailable):
            await state.commit(KEY, vm)
        await state.prepare(KEY, vm)  # the retry, on the same live gateway
        assert await say(KEY, "again") == echo("again", 2, "openclaw")  # not 3: the failed attempt is gone
        await state.commit(KEY, vm)
        await state.prepare(KEY, vm)
        assert await say(KEY, "third") == echo("third", 3, "openclaw")
        await state.commit(KEY, vm)
    entry = await index.get("main", KEY)
    assert entry is not None
    assert len(await transcripts.page(SessionRef("main", entry.session_id))) == 3
