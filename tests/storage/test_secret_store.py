"""Secrets: read from Secrets Manager (loopback API), cached for a TTL, rotations picked up, never logged."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import SecretStr

from clawbus.bus.clients import SecretClients, open_stage_clients
from clawbus.bus.errors import ConfigError, TargetGone
from clawbus.bus.logging import quiet_libraries
from clawbus.bus.settings import BusSettings, Settings, TelegramSettings
from clawbus.local.secret_seed import seed_channel_secrets
from clawbus.storage import SecretsManagerStore, channel_secret_name
from tests.conftest import Bus

TOKEN = "123456:very-secret-token"  # a test value


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_rotation_is_picked_up_after_the_ttl_and_values_never_show(
    bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    quiet_libraries()  # as every process's configure_logging does, at any CLAWBUS_LOG_LEVEL
    caplog.set_level(logging.DEBUG)
    name = channel_secret_name(bus.prefix, "telegram")
    manager = bus.client("secretsmanager")
    manager.create_secret(Name=name, SecretString=json.dumps({"CLAWBUS_TELEGRAM__BOT_TOKEN": TOKEN}))
    clock = Clock()
    async with open_stage_clients(Settings(aws=bus.aws), SecretClients) as clients:
        store = SecretsManagerStore(clients.secretsmanager, ttl_s=60, clock=clock)
        first = await store.get(name)
        assert first["CLAWBUS_TELEGRAM__BOT_TOKEN"].get_secret_value() == TOKEN
        manager.put_secret_value(
            SecretId=name, SecretString=json.dumps({"CLAWBUS_TELEGRAM__BOT_TOKEN": "rotated"})
        )
        clock.now += 59
        assert (await store.get(name))["CLAWBUS_TELEGRAM__BOT_TOKEN"].get_secret_value() == TOKEN  # cached
        clock.now += 2
        assert (await store.get(name))["CLAWBUS_TELEGRAM__BOT_TOKEN"].get_secret_value() == "rotated"
        logging.getLogger("test").info("values: %s", first)
    assert str(first["CLAWBUS_TELEGRAM__BOT_TOKEN"]) == "**********"
    assert TOKEN not in caplog.text
    assert "rotated" not in caplog.text


async def test_a_missing_or_malformed_secret_says_what_to_do(bus: Bus) -> None:
    manager = bus.client("secretsmanager")
    manager.create_secret(Name=f"{bus.prefix}/bad", SecretString=f'{{"PATH": "{TOKEN}"}}')
    async with open_stage_clients(Settings(aws=bus.aws), SecretClients) as clients:
        store = SecretsManagerStore(clients.secretsmanager, ttl_s=0)
        with pytest.raises(TargetGone, match=f"secret {bus.prefix}/none does not exist.*Set the secrets"):
            await store.get(f"{bus.prefix}/none")
        with pytest.raises(ConfigError, match="keys must start with CLAWBUS_") as info:
            await store.get(f"{bus.prefix}/bad")
    assert TOKEN not in str(info.value)


async def test_the_embedded_default_seeds_each_channel_secret_once(bus: Bus) -> None:
    settings = Settings(
        aws=bus.aws, bus=BusSettings(prefix=bus.prefix), telegram=TelegramSettings(bot_token=SecretStr(TOKEN))
    )
    async with open_stage_clients(settings, SecretClients) as clients:
        created = await seed_channel_secrets(clients.secretsmanager, settings)
        assert channel_secret_name(bus.prefix, "telegram") in created
        assert (
            await seed_channel_secrets(clients.secretsmanager, settings) == []
        )  # never over an existing one
        store = SecretsManagerStore(clients.secretsmanager, ttl_s=0)
        telegram = await store.get(channel_secret_name(bus.prefix, "telegram"))
        assert telegram["CLAWBUS_TELEGRAM__BOT_TOKEN"].get_secret_value() == TOKEN
        assert await store.get(channel_secret_name(bus.prefix, "webchat")) == {}
