"""The AgentCore Memory backend over HTTP with the real botocore client, against a loopback stand-in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import uvicorn
from aiobotocore.session import get_session

from clawbus.bus.errors import VersionConflict
from clawbus.storage import AgentCoreMemoryTranscriptStore, Batch, SessionRef
from tests.fakes.agentcore_memory import MemoryState, memory_app
from tests.helpers import free_port

SESSION = SessionRef("main", "0b6f3c1e-5d2a-4c8e-9f10-1a2b3c4d5e6f")


def message(entry_id: str, text: str, role: str = "user") -> dict[str, object]:
    return {
        "type": "message",
        "id": entry_id,
        "parentId": None,
        "timestamp": "2026-01-31T09:30:00+00:00",
        "message": {"role": role, "content": [{"type": "text", "text": text}]},
    }


@pytest.fixture
async def memory() -> AsyncIterator[tuple[AgentCoreMemoryTranscriptStore, MemoryState]]:
    state = MemoryState(records={"facts/main": ["Ada drinks jasmine tea", "Ada lives in Berlin"]})
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(memory_app(state), host="127.0.0.1", port=port, log_config=None))
    task = asyncio.create_task(server.serve())
    while not server.started:  # uvicorn has no "bound" event
        await asyncio.sleep(0.02)
    async with get_session().create_client(
        "bedrock-agentcore",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ) as client:
        yield (
            AgentCoreMemoryTranscriptStore(
                client, "clawbus_memory-a1b2c3d4e5", namespace="facts/{actorId}", top_k=3
            ),
            state,
        )
    server.should_exit = True
    await task


async def test_batches_are_events_with_the_conversation_and_read_back_in_order(memory) -> None:  # type: ignore[no-untyped-def]
    store, state = memory
    reply = {"schema_version": 1, "status": "ok", "parts": ["hi"]}
    await store.append(
        SESSION, Batch(0, (message("u1", "hello"), message("a1", "hi", "assistant")), "rp-1", reply)
    )
    await store.append(SESSION, Batch(1, (message("u2", "again"),)))
    tail = await store.read_tail(SESSION)
    assert [e["id"] for e in tail.entries] == ["u1", "a1", "u2"]
    assert tail.next_seq == 2
    found = await store.find_turn(SESSION, "rp-1")
    assert found is not None
    assert found.reply == reply
    first = state.events[("clawbus_memory-a1b2c3d4e5", "main", SESSION.session_id)][0]
    roles = [p["conversational"]["role"] for p in first["payload"] if "conversational" in p]
    assert roles == ["USER", "ASSISTANT"]  # AgentCore's extraction sees the conversation


async def test_a_second_writer_for_a_seq_gets_a_version_conflict(memory) -> None:  # type: ignore[no-untyped-def]
    store, _state = memory
    await store.append(SESSION, Batch(0, (message("w1", "first writer"),)))
    with pytest.raises(VersionConflict, match="seq 0 was appended by another writer"):
        await store.append(SESSION, Batch(0, (message("w2", "second writer"),)))
    await store.append(SESSION, Batch(0, (message("w1", "first writer"),)))  # a retry of the winner is fine
    assert [e["id"] for e in (await store.read_tail(SESSION)).entries] == ["w1"]


async def test_long_term_records_are_recalled_by_the_users_message(memory) -> None:  # type: ignore[no-untyped-def]
    store, _state = memory
    assert await store.recall(SESSION, "what tea do I like?") == ["Ada drinks jasmine tea"]
