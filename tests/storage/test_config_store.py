"""The configuration document: seeded once, versioned writes without lost updates, on SSM and blobs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from clawbus.bus.clients import ConfigClients, open_stage_clients
from clawbus.bus.errors import TooLarge, VersionConflict
from clawbus.bus.settings import BusSettings, LocalSettings, Settings, StorageSettings
from clawbus.storage import ConfigStore, config_parameter_name, config_store, seed_config
from tests.conftest import Bus

SEED = '{\n  // JSON5, as OpenClaw writes it\n  agents: { defaults: { model: "offline/echo" } },\n}\n'


def _settings(bus: Bus, backend: str, tmp_path: Path) -> Settings:
    seed_file = tmp_path / "openclaw.json"
    seed_file.write_text(SEED)
    return Settings(
        aws=bus.aws,
        bus=BusSettings(prefix=bus.prefix),
        storage=StorageSettings(config=backend, local_dir=tmp_path / "state", config_seed=seed_file),
        local=LocalSettings(data_dir=tmp_path),
    )


@pytest.fixture(params=["ssm", "s3", "local"])
async def settings_and_store(
    request: pytest.FixtureRequest, bus: Bus, tmp_path: Path
) -> AsyncIterator[tuple[Settings, ConfigStore]]:
    settings = _settings(bus, request.param, tmp_path)
    async with open_stage_clients(settings, ConfigClients) as clients:
        yield settings, config_store(settings, clients)


async def test_the_seed_is_stored_once_and_never_over_a_newer_document(
    settings_and_store: tuple[Settings, ConfigStore],
) -> None:
    settings, store = settings_and_store
    assert await store.read() is None
    assert await seed_config(settings, store) is True
    first = await store.read()
    assert first is not None
    assert first.text == SEED  # comments and trailing commas survive: the text is kept as it is
    await store.write("{ agents: {} }", if_version=first.version)
    assert await seed_config(settings, store) is False
    current = await store.read()
    assert current is not None
    assert current.text == "{ agents: {} }"


async def test_a_write_from_a_stale_version_is_refused(
    settings_and_store: tuple[Settings, ConfigStore],
) -> None:
    _, store = settings_and_store
    first = await store.write("{a: 1}", if_version=None)
    with pytest.raises(VersionConflict):
        await store.write("{a: 0}", if_version=None)
    await store.write("{a: 2}", if_version=first)
    with pytest.raises(VersionConflict, match="re-read"):
        await store.write("{a: 3}", if_version=first)
    current = await store.read()
    assert current is not None
    assert current.text == "{a: 2}"


async def test_concurrent_editors_lose_no_update(settings_and_store: tuple[Settings, ConfigStore]) -> None:
    _, store = settings_and_store
    await store.write("// editors\n", if_version=None)

    async def add_line(line: str) -> None:
        while True:
            current = await store.read()
            assert current is not None
            try:
                await store.write(current.text + line + "\n", if_version=current.version)
                return
            except VersionConflict:
                continue

    await asyncio.gather(*(add_line(f"// editor {i}") for i in range(6)))
    final = await store.read()
    assert final is not None
    assert sorted(final.text.splitlines()[1:]) == sorted(f"// editor {i}" for i in range(6))


async def test_ssm_takes_advanced_tier_documents_and_names_the_way_out_above_8_kb(
    bus: Bus, tmp_path: Path
) -> None:
    settings = _settings(bus, "ssm", tmp_path)
    async with open_stage_clients(settings, ConfigClients) as clients:
        store = config_store(settings, clients)
        big = "{" + " " * 6000 + "}"
        version = await store.write(big, if_version=None)
        tiers = bus.client("ssm").get_parameter_history(Name=config_parameter_name(bus.prefix))["Parameters"]
        assert [p["Tier"] for p in tiers] == ["Advanced"]
        with pytest.raises(TooLarge, match="CLAWBUS_STORAGE__CONFIG=s3"):
            await store.write("{" + " " * 9000 + "}", if_version=version)


async def test_terraforms_empty_placeholder_is_replaced_by_the_seed(bus: Bus, tmp_path: Path) -> None:
    settings = _settings(bus, "ssm", tmp_path)
    bus.client("ssm").put_parameter(
        Name=config_parameter_name(bus.prefix), Value="{}", Type="SecureString", Description="terraform"
    )
    async with open_stage_clients(settings, ConfigClients) as clients:
        store = config_store(settings, clients)
        assert await seed_config(settings, store) is True
        current = await store.read()
        assert current is not None
        assert current.text == SEED
