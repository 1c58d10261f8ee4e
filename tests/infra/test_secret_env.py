"""Channel credentials come from Secrets Manager as CLAWBUS_* variables, never from Terraform state."""

from __future__ import annotations

import pytest

from clawbus.bus.clients import SecretClients, open_stage_clients
from clawbus.bus.errors import ConfigError
from clawbus.bus.secret_env import load, parse_secret, secret_ids
from clawbus.bus.settings import Settings
from clawbus.storage import secret_store
from tests.conftest import Bus


def test_ids_come_from_the_comma_separated_variable() -> None:
    assert secret_ids({"CLAWBUS_SECRET_IDS": " arn:a , arn:b,,"}) == ["arn:a", "arn:b"]
    assert secret_ids({}) == []


async def test_secrets_become_clawbus_variables_later_ones_winning(bus: Bus) -> None:
    values = {
        "tg": '{"CLAWBUS_TELEGRAM__BOT_TOKEN": "1:abc", "CLAWBUS_LOG_LEVEL": "INFO"}',
        "ops": '{"CLAWBUS_LOG_LEVEL": "DEBUG"}',
        "empty": "{}",
    }
    manager = bus.client("secretsmanager")
    for name, text in values.items():
        manager.create_secret(Name=f"{bus.prefix}/{name}", SecretString=text)
    settings = Settings(aws=bus.aws)
    async with open_stage_clients(settings, SecretClients) as clients:
        loaded = await load(secret_store(settings, clients), [f"{bus.prefix}/{n}" for n in values])
    assert loaded == {
        "CLAWBUS_TELEGRAM__BOT_TOKEN": "1:abc",
        "CLAWBUS_LOG_LEVEL": "DEBUG",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "is not a JSON object of CLAWBUS_* names"),
        ('["x"]', "must be a JSON object, not list"),
        ('{"PATH": "/tmp"}', "keys must start with CLAWBUS_"),
        ('{"CLAWBUS_X": 1}', "values be strings"),
    ],
)
def test_a_wrong_secret_is_a_config_error_naming_it(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match="secret arn:s") as info:
        parse_secret("arn:s", text)
    assert message in str(info.value)
