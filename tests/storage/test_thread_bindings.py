"""Thread bindings in the pairing table against the loopback AWS API: bound, found while live, moved on
by activity, gone after their idle end or `unbind`. Time is passed in, never slept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from clawbus.bus.clients import IngressClients, open_stage_clients
from clawbus.bus.settings import Settings
from clawbus.bus.topology import pairing_table_name
from clawbus.schemas.thread_binding import Conversation, ThreadBinding
from clawbus.storage.thread_bindings import ThreadBindingStore, thread_binding_store
from tests.conftest import Bus

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
THREAD = Conversation(channel="discord", account_id="default", chat_id="1190000000000000001")


@pytest.fixture
async def store(bus: Bus) -> AsyncIterator[ThreadBindingStore]:
    async with open_stage_clients(Settings(aws=bus.aws), IngressClients) as clients:
        yield thread_binding_store(clients.dynamodb, pairing_table_name(bus.prefix))


async def test_a_bound_thread_is_found_until_idle_and_activity_keeps_it(store: ThreadBindingStore) -> None:
    binding = ThreadBinding(
        conversation=THREAD,
        agent_id="work",
        session_key="agent:work:subagent:1",
        bound_at=T0,
        last_active_at=T0,
        idle_hours=1,
    )
    await store.bind(binding)
    assert await store.find(THREAD, T0 + timedelta(minutes=59)) == binding
    assert await store.find(THREAD.model_copy(update={"thread_id": "other"}), T0) is None
    assert await store.find(THREAD, T0 + timedelta(hours=1)) is None  # idle: no longer routes
    touched = await store.touch(binding, T0 + timedelta(minutes=50))
    assert await store.find(THREAD, T0 + timedelta(hours=1, minutes=30)) == touched
    await store.unbind(THREAD)
    assert await store.find(THREAD, T0 + timedelta(minutes=51)) is None
