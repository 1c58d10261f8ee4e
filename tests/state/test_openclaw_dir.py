"""Reading and writing an OpenClaw state directory (the layout `clawbus state import/export` moves)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from clawbus.bus.errors import ConfigError
from clawbus.openclaw.channel_credentials import channel_secrets, without_secrets
from clawbus.openclaw.state_dir_read import read_openclaw_dir
from clawbus.openclaw.state_dir_write import write_openclaw_dir

HOME = Path(__file__).parent.parent / "fixtures" / "openclaw_home"


def test_reads_every_kind_of_state_and_says_what_it_skipped() -> None:
    found = read_openclaw_dir(HOME)
    assert found.config is not None
    assert found.config["session"]["reset"]["atHour"] == 4  # JSON5 parsed
    assert found.env["SLACK_BOT_TOKEN"] == "xoxb-fixture-slack-token"  # quotes stripped
    assert set(found.workspace) == {
        "AGENTS.md",
        "SOUL.md",
        "USER.md",
        "MEMORY.md",
        "HEARTBEAT.md",
        "memory/2026-11-24.md",
    }
    sessions = found.sessions["main"]
    assert set(sessions.index) == {"agent:main:main", "agent:main:slack:group:C0FIXTURE"}
    assert [line["type"] for line in sessions.transcripts["7f3c2a10-5b1e-4c77-9a41-0d2e8f6b1c01"]][:2] == [
        "session",
        "message",
    ]
    assert [r["code"] for r in found.pairing[("telegram", "default")]] == ["K7QZ3MPA"]
    assert found.allow_from[("telegram", "default")] == ["1001", "1003"]
    assert found.allow_from[("whatsapp", "work")] == ["+351910000001"]
    assert set(found.whatsapp_auth["default"]) == {"creds.json", "pre-key-1.json"}
    assert [job["id"] for job in found.cron_jobs] == ["water-plants", "morning-brief"]
    assert found.cron_runs["morning-brief"][0]["status"] == "ok"
    skipped = dict(found.skipped)
    assert "skills" in skipped
    assert "agents/main/agent" in skipped
    assert any(path.endswith(".reset.2026-11-20T04-00-00.000Z") for path in skipped)


def test_a_malformed_file_is_skipped_with_its_reason_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "cron").mkdir()
    (tmp_path / "cron" / "jobs.json").write_text("{not json")
    (tmp_path / "agents" / "main" / "sessions").mkdir(parents=True)
    (tmp_path / "agents" / "main" / "sessions" / "s1.jsonl").write_text('{"type":"session"}\n[1, 2]\n')
    (tmp_path / "workspace").mkdir()
    (tmp_path / "workspace" / "AGENTS.md").write_text("ok")
    found = read_openclaw_dir(tmp_path)
    reasons = dict(found.skipped)
    assert reasons["cron/jobs.json"].startswith("not valid JSON")
    assert "line 2 is not a JSON object" in reasons["agents/main/sessions/s1.jsonl"]
    assert found.workspace == {"AGENTS.md": b"ok"}


def test_not_an_openclaw_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not look like an OpenClaw state directory"):
        read_openclaw_dir(tmp_path)
    with pytest.raises(ConfigError, match="is not a directory"):
        read_openclaw_dir(tmp_path / "missing")


def test_written_back_it_reads_the_same_and_credentials_are_private(tmp_path: Path) -> None:
    found = read_openclaw_dir(HOME)
    out = tmp_path / "export"
    write_openclaw_dir(found, out)
    again = read_openclaw_dir(out)
    for name in (
        "config",
        "env",
        "workspace",
        "pairing",
        "allow_from",
        "whatsapp_auth",
        "cron_jobs",
        "cron_runs",
    ):
        assert getattr(again, name) == getattr(found, name), name
    assert again.sessions["main"].index == found.sessions["main"].index
    assert again.sessions["main"].transcripts == found.sessions["main"].transcripts
    assert stat.S_IMODE((out / "credentials" / "telegram-allowFrom.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((out / "credentials").stat().st_mode) == 0o700
    with pytest.raises(ConfigError, match="not empty"):
        write_openclaw_dir(found, out)


def test_every_exported_file_is_private_whatever_the_umask(tmp_path: Path) -> None:
    found = read_openclaw_dir(HOME)
    out = tmp_path / "export"
    old = os.umask(0)  # a umask that would leave files world-writable: the modes must not come from it
    try:
        written = write_openclaw_dir(found, out)
    finally:
        os.umask(old)
    assert any(rel.endswith(".jsonl") for rel in written)  # transcripts too, not only credentials
    for rel in written:
        assert stat.S_IMODE((out / rel).stat().st_mode) == 0o600, rel
    for folder in [out, *(p for p in out.rglob("*") if p.is_dir())]:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_channel_credentials_leave_the_config_for_the_secrets_store() -> None:
    found = read_openclaw_dir(HOME)
    secrets = channel_secrets(found.config, found.env)
    assert secrets["telegram"] == {
        "CLAWBUS_TELEGRAM__BOT_TOKEN": "123456:telegram-token-from-fixture",
        "CLAWBUS_TELEGRAM__WEBHOOK_SECRET": "fixture-webhook-secret",
    }
    assert secrets["slack"]["CLAWBUS_SLACK__BOT_TOKEN"] == "xoxb-fixture-slack-token"  # from .env
    assert found.config is not None
    clean = without_secrets(found.config)
    assert "botToken" not in clean["channels"]["telegram"]
    assert clean["channels"]["telegram"]["dmPolicy"] == "pairing"
    assert found.config["channels"]["telegram"]["botToken"]  # the original is untouched
