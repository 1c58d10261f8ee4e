"""The blob store: the same contract on a local directory and on S3 (the loopback API)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from clawbus.bus.clients import AgentStoreClients, open_stage_clients
from clawbus.bus.errors import InvalidEnvelope, PermanentError, TooLarge, VersionConflict
from clawbus.bus.settings import BusSettings, Settings, StorageSettings
from clawbus.storage import BlobStore, LocalBlobStore, blob_store
from clawbus.storage.claim_check import ClaimChecks
from tests.conftest import Bus
from tests.helpers import lose_landed_responses


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    storage = StorageSettings(blobs=request.param, local_dir=tmp_path / "state", blob_max_bytes=4096)
    if request.param == "local":
        async with open_stage_clients(Settings(storage=storage), AgentStoreClients) as clients:
            yield blob_store(Settings(storage=storage), clients)
        return
    bus: Bus = request.getfixturevalue("bus")
    settings = Settings(aws=bus.aws, bus=BusSettings(prefix=bus.prefix), storage=storage)
    async with open_stage_clients(settings, AgentStoreClients) as clients:
        yield blob_store(settings, clients)


async def test_a_blob_reads_back_whole_or_capped(store: BlobStore) -> None:
    version = await store.put("claim-check/a.json", b"0123456789")
    whole = await store.get("claim-check/a.json")
    assert whole is not None
    assert (whole.data, whole.version, whole.size, whole.truncated) == (b"0123456789", version, 10, False)
    head = await store.get("claim-check/a.json", max_bytes=4)
    assert head is not None
    assert (head.data, head.size, head.truncated) == (b"0123", 10, True)
    assert await store.get("claim-check/none.json") is None


async def test_conditional_writes_refuse_a_lost_race(store: BlobStore) -> None:
    first = await store.put("k", b"one", if_none_match=True)
    with pytest.raises(VersionConflict, match=r"already exists|changed"):
        await store.put("k", b"again", if_none_match=True)
    second = await store.put("k", b"two", if_match=first)
    with pytest.raises(VersionConflict, match="k"):
        await store.put("k", b"three", if_match=first)
    found = await store.get("k")
    assert found is not None
    assert (found.data, found.version) == (b"two", second)


async def test_delete_and_list(store: BlobStore) -> None:
    for key in ("a/1", "a/2", "b/1"):
        await store.put(key, b"x")
    assert list(await store.list("a/")) == ["a/1", "a/2"]
    await store.delete("a/1")
    await store.delete("a/1")  # already gone: nothing happens
    assert list(await store.list()) == ["a/2", "b/1"]


async def test_a_blob_over_the_cap_is_refused_and_keys_stay_inside(store: BlobStore) -> None:
    with pytest.raises(TooLarge, match="over this store's limit of 4096"):
        await store.put("big", b"x" * 4097)
    assert await store.get("big") is None
    with pytest.raises(PermanentError, match="must stay inside"):
        await store.put("../escape", b"x")


async def test_concurrent_appenders_lose_nothing(store: BlobStore) -> None:
    await store.put("log", b"", if_none_match=True)

    await asyncio.gather(*(append(store, f"{i}\n".encode()) for i in range(10)))
    final = await store.get("log")
    assert final is not None
    assert sorted(final.data.decode().split()) == sorted(str(i) for i in range(10))


async def append(store: BlobStore, line: bytes) -> None:
    """Append `line` to the blob `log`: read, write conditionally, on a conflict read again."""
    while True:
        current = await store.get("log")
        assert current is not None
        try:
            await store.put("log", current.data + line, if_match=current.version)
            return
        except VersionConflict:
            continue


async def test_a_conditional_write_whose_lost_response_is_retried_is_the_writers_own(bus: Bus) -> None:
    # botocore retries such a PUT, and its condition then fails against the writer's own object (412).
    # That is this writer's success, not a conflict: an appender told "conflict" appends its line again.
    settings = Settings(aws=bus.aws, bus=BusSettings(prefix=bus.prefix), storage=StorageSettings(blobs="s3"))
    async with open_stage_clients(settings, AgentStoreClients) as clients:
        assert clients.s3
        store = blob_store(settings, clients)
        await store.put("log", b"", if_none_match=True)
        landed = lose_landed_responses(clients.s3, "s3.PutObject", times=3)
        for line in (b"one\n", b"two\n"):
            await append(store, line)
        final = await store.get("log")
        assert final is not None
        assert final.data == b"one\ntwo\n"
        created = await store.put("new", b"x", if_none_match=True)
        assert landed == [200, 200, 200]  # each write above was retried after it landed
        assert created == (await store.get("new") or final).version
        with pytest.raises(VersionConflict):  # a lost race is still one: the blob holds other bytes
            await store.put("log", b"mine\n", if_match=created)
        with pytest.raises(VersionConflict):
            await store.put("new", b"y", if_none_match=True)


async def test_claim_checks_sit_on_whichever_blob_store_is_chosen(bus: Bus, tmp_path: Path) -> None:
    storage = StorageSettings(blobs="local", local_dir=tmp_path)
    settings = Settings(aws=bus.aws, bus=BusSettings(prefix=bus.prefix), storage=storage)
    async with open_stage_clients(settings, AgentStoreClients) as clients:
        assert clients.s3
        checks = ClaimChecks(
            clients.s3, settings.bus.bucket_name(), 1024, blobs=blob_store(settings, clients)
        )
        body = "ü" * 5000
        pointer = await checks.offload(body)
        assert pointer != body
        assert await checks.resolve(pointer) == body
        on_disk = LocalBlobStore(tmp_path / "blobs")
        (key,) = await on_disk.list("claim-check/")
        assert "Contents" not in bus.client("s3").list_objects_v2(Bucket=settings.bus.bucket_name())
        await on_disk.delete(key)
        with pytest.raises(InvalidEnvelope, match="is gone"):
            await checks.resolve(pointer)
