"""`clawbus state import` moves the user's model keys into the secret store, never into the config store
or the output, where the OpenClaw engine's gateway reads them; `export --include-secrets` gives them back."""

from __future__ import annotations

import asyncio
import json
from contextlib import closing
from pathlib import Path
from typing import Any

import sqlean

from clawbus.bus.settings import Settings
from clawbus.openclaw.model_credentials import from_auth_profiles, provider_key_variable
from clawbus.openclaw.state_dir_read import read_openclaw_dir
from tests.conftest import Bus
from tests.ops.ops_cli import clawbus
from tests.state.test_openclaw_sqlite_import import agent_database

DB_KEY = "sk-openai-from-the-sqlite-store"
LEGACY_KEY = "sk-ant-from-auth-profiles-json"
ENV_KEY = "gsk-from-dot-env"
VARS_KEY = "sk-or-from-env-vars"
OAUTH_REFRESH = "refresh-token-never-moved"


def openclaw_home(root: Path) -> Path:
    """A 2026.9 directory with a key in each place OpenClaw reads one from, and an OAuth login."""
    db = root / "agents" / "main" / "agent" / "openclaw-agent.sqlite"
    agent_database(db)
    store = {
        "version": 1,
        "profiles": {
            "openai:default": {"type": "api_key", "provider": "openai", "key": DB_KEY},
            "openai-codex:me@example.com": {
                "type": "oauth",
                "provider": "openai-codex",
                "access": "a",
                "refresh": OAUTH_REFRESH,
                "expires": 1,
            },
        },
    }
    with closing(sqlean.connect(db)) as conn, conn:
        conn.execute(
            "INSERT INTO auth_profile_store (store_key, store_json, updated_at) VALUES ('primary', ?, 1)",
            (json.dumps(store),),
        )
    (db.parent / "auth-profiles.json").write_text(
        json.dumps({"profiles": {"anthropic:default": {"type": "api_key", "key": LEGACY_KEY}}})
    )
    (root / ".env").write_text(f"GROQ_API_KEY={ENV_KEY}\n")
    config = {"env": {"vars": {"OPENROUTER_API_KEY": VARS_KEY}}, "agents": {"defaults": {}}}
    (root / "openclaw.json").write_text(json.dumps(config))
    return root


async def _stored(bus: Bus, data_dir: Path) -> tuple[dict[str, str] | None, dict[str, Any] | None]:
    from clawbus.cli.state_sinks import open_sinks

    settings = Settings.model_validate(
        {
            "aws": {"endpoint_url": bus.endpoint, "region": "us-east-1"},
            "bus": {"prefix": bus.prefix},
            "local": {"data_dir": data_dir},
        }
    )
    async with open_sinks(settings) as sinks:
        return await sinks.secrets.read_values("model-credentials"), await sinks.config.read_document()


def test_keys_go_to_the_secret_store_and_come_back_on_export(bus: Bus, tmp_path: Path) -> None:
    home = openclaw_home(tmp_path / "openclaw")
    ran = clawbus(bus, tmp_path, "state", "import", str(home), "--json")
    assert ran.code == 0, ran.out + ran.err
    for secret in (DB_KEY, LEGACY_KEY, ENV_KEY, VARS_KEY, OAUTH_REFRESH):
        assert secret not in ran.out + ran.err
    skipped = [row["name"] for row in ran.json()["items"] if row["kind"] == "not moved"]
    assert "auth profile openai-codex:me@example.com" in skipped  # an OAuth login is named, not moved

    secret, config = asyncio.run(_stored(bus, tmp_path))
    assert secret == {
        "OPENAI_API_KEY": DB_KEY,
        "ANTHROPIC_API_KEY": LEGACY_KEY,
        "GROQ_API_KEY": ENV_KEY,
        "OPENROUTER_API_KEY": VARS_KEY,
    }
    assert config is not None
    assert VARS_KEY not in json.dumps(config)  # env.vars left the config store
    assert "agents" in config

    out = tmp_path / "export"
    assert clawbus(bus, tmp_path, "state", "export", str(out), "--include-secrets").code == 0
    assert read_openclaw_dir(out).env["ANTHROPIC_API_KEY"] == LEGACY_KEY
    assert (out / ".env").stat().st_mode & 0o077 == 0


def test_the_database_wins_over_the_legacy_json_and_bedrock_has_nothing_to_move() -> None:
    found, skipped = from_auth_profiles(
        [
            {"profiles": {"anthropic:default": {"type": "api_key", "key": "db"}}},
            {"profiles": {"anthropic:default": {"type": "api_key", "key": "legacy"}}},
            {"profiles": {"amazon-bedrock:default": {"type": "token", "provider": "amazon-bedrock"}}},
            {"profiles": {"mistral:ref": {"type": "api_key", "keyRef": {"source": "env", "id": "X"}}}},
        ]
    )
    assert found == {"ANTHROPIC_API_KEY": "db"}
    assert [profile for profile, _why in skipped] == ["mistral:ref"]
    assert provider_key_variable("openai-codex") == "OPENAI_CODEX_API_KEY"
