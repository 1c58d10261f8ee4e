"""The OpenClaw engine's pure parts: the generated gateway config, error classification, the SSE answer,
and what a heartbeat turn sends."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from clawbus.agent.engines.openclaw.client import agent_of, classify_status, text_of_stream
from clawbus.agent.engines.openclaw.config import gateway_config
from clawbus.agent.engines.openclaw.engine import heartbeat_message
from clawbus.agent.engines.openclaw.gateway import Gateway, GatewaySpec
from clawbus.agent.engines.openclaw.launch import binaries
from clawbus.agent.heartbeat import HEARTBEAT_PROMPT
from clawbus.bus.errors import (
    ConfigError,
    PermanentError,
    RetryableError,
    Throttled,
    Unauthorized,
    Unavailable,
)

STORED = {
    "agents": {
        "defaults": {"model": {"primary": "anthropic/claude"}, "heartbeat": {"every": "30m"}},
        "entries": {"ops": {"heartbeat": {"every": "5m"}, "tools": {"allow": ["read"]}}},
    },
    "models": {"providers": {"anthropic": {"apiKey": "${ANTHROPIC_API_KEY}"}}},
    "tools": {"profile": "coding"},
    "channels": {"telegram": {"botToken": "t"}},
    "gateway": {"bind": "lan", "port": 1, "controlUi": {"enabled": True}},
    "cron": {"enabled": True},
}


def test_the_users_agents_models_and_tools_are_kept_and_what_clawbus_owns_is_forced() -> None:
    config = gateway_config(STORED, port=4000, token="tok")
    assert config["agents"]["defaults"]["model"] == {"primary": "anthropic/claude"}
    assert config["agents"]["entries"]["ops"]["tools"] == {"allow": ["read"]}
    assert config["models"]["providers"]["anthropic"] == {"apiKey": "${ANTHROPIC_API_KEY}"}
    assert config["tools"] == {"profile": "coding"}
    assert "channels" not in config
    assert config["gateway"] == {
        "mode": "local",
        "bind": "loopback",
        "port": 4000,
        "auth": {"mode": "token", "token": "tok"},
        "controlUi": {"enabled": False},
        "http": {"endpoints": {"chatCompletions": {"enabled": True}}},
    }
    assert config["update"] == {"checkOnStart": False}
    assert config["models"]["catalogRefresh"] == {"enabled": False}
    assert config["cron"] == {"enabled": False}
    # every HTTP turn is the gateway owner's, a stranger's too: no command reaches past its conversation
    assert config["commands"] == dict.fromkeys(
        ("bash", "config", "mcp", "plugins", "debug", "restart"), False
    )
    assert config["agents"]["defaults"]["heartbeat"]["every"] == "0m"
    assert config["agents"]["entries"]["ops"]["heartbeat"]["every"] == "0m"
    assert STORED["agents"]["defaults"]["heartbeat"] == {"every": "30m"}  # the stored one is untouched


def test_offline_the_echo_is_the_only_model_and_the_workspace_is_pinned() -> None:
    config = gateway_config(
        STORED,
        port=4000,
        token="tok",
        echo_base_url="http://127.0.0.1:9/v1",
        echo_api_key="per-process-key",
        workspace="/w",
    )
    assert list(config["models"]["providers"]) == ["clawbus-echo"]
    assert config["models"]["providers"]["clawbus-echo"]["apiKey"] == "per-process-key"
    assert config["models"]["providers"]["clawbus-echo"]["baseUrl"] == "http://127.0.0.1:9/v1"
    assert config["agents"]["defaults"]["model"] == {"primary": "clawbus-echo/echo"}
    assert config["agents"]["defaults"]["workspace"] == "/w"
    assert gateway_config(None, port=1, token="t")["agents"]["defaults"]["heartbeat"] == {"every": "0m"}


@pytest.mark.parametrize(
    ("status", "kind"),
    [(429, Throttled), (500, Unavailable), (503, Unavailable), (401, Unauthorized), (400, PermanentError)],
)
def test_gateway_statuses_are_classified(status: int, kind: type[Exception]) -> None:
    error = classify_status(status, "body")
    assert type(error) is kind
    assert isinstance(error, RetryableError) == (status == 429 or status >= 500)
    assert classify_status(200) is None


def test_the_answer_is_the_streamed_deltas_joined() -> None:
    lines = [
        'data: {"choices":[{"delta":{"role":"assistant"}}]}',
        "",
        'data: {"choices":[{"delta":{"content":"Hel"}}]}',
        ": keep-alive",
        'data: {"choices":[{"delta":{"content":"lo"}}]}',
        "data: [DONE]",
    ]
    assert text_of_stream(lines) == "Hello"


def test_a_failed_run_or_a_cut_stream_is_an_error_never_an_empty_answer() -> None:
    failed = [
        'data: {"choices":[{"delta":{"content":"par"}}]}',
        'data: {"error":{"message":"workspace vanished","type":"api_error"}}',
        "data: [DONE]",
    ]
    with pytest.raises(Unavailable, match="workspace vanished"):
        text_of_stream(failed)
    refused = ['data: {"error":{"message":"bad key","type":"invalid_request_error"}}', "data: [DONE]"]
    with pytest.raises(PermanentError):
        text_of_stream(refused)
    with pytest.raises(Unavailable, match="before"):
        text_of_stream(['data: {"choices":[{"delta":{"content":"Hel"}}]}'])


def test_the_agent_header_comes_from_the_session_key() -> None:
    assert agent_of("agent:ops:telegram:direct:42") == "ops"
    assert agent_of("main") == "main"


def test_a_heartbeat_sends_the_checklist_and_an_empty_one_sends_nothing() -> None:
    assert heartbeat_message(None) == HEARTBEAT_PROMPT
    assert heartbeat_message("# Checklist\n\n- [ ]\n") is None
    assert (
        heartbeat_message("- check the mail\n") == f"{HEARTBEAT_PROMPT}\n\nHEARTBEAT.md:\n\n- check the mail"
    )


def test_a_missing_install_names_the_command_that_installs_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="clawbus up --engine openclaw"):
        binaries(tmp_path)


def test_the_gateway_state_dir_and_its_token_config_are_the_users_alone(tmp_path: Path) -> None:
    spec = GatewaySpec(
        openclaw=tmp_path / "openclaw",
        node_bin=tmp_path,
        state_dir=tmp_path / "data" / "openclaw-state",
        log_path=tmp_path / "data" / "openclaw-state.log",
        port=1,
        start_timeout_s=1.0,
    )
    before = os.umask(0o022)  # a process started without clawbus up's umask
    try:
        Gateway(spec, {"gateway": {"auth": {"token": "t"}}})._write_config()
    finally:
        os.umask(before)
    assert stat.S_IMODE(spec.state_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((spec.state_dir / "openclaw.json").stat().st_mode) == 0o600
