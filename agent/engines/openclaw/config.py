"""The `openclaw.json` the engine's gateway runs with: the user's agents, models and tools, our gateway.

Pure: from the stored OpenClaw config (the user's own `openclaw.json`, as a dict) and what the engine
decided (port, token, an offline model), the config to write. What clawbus owns is forced, whatever the
stored config says: the gateway is loopback-only with a token, its Control UI is off and its OpenAI
chat-completions endpoint on; nothing phones home at start (update check, model catalog refresh); no
channels (the bus delivers); OpenClaw's own heartbeat and cron are off, because in AgentCore they
would die with the microVM: clawbus's scheduler drives both through the bus; and the chat commands that
reach past a conversation (`/restart`, `/config`, `/mcp`, `/plugins`, `/debug`, `! <cmd>`) are off:
every turn arrives as the gateway's owner, a stranger's included, so OpenClaw's owner-only rule cannot
tell them apart.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

ECHO_PROVIDER = "clawbus-echo"
KEPT = ("agents", "models", "tools")  # what the user's stored config contributes; the rest is ours


def _block(parent: dict[str, Any], key: str) -> dict[str, Any]:
    value = parent.get(key)
    if not isinstance(value, dict):
        value = parent[key] = {}
    return value


def _heartbeat_off(agent: dict[str, Any]) -> None:
    _block(agent, "heartbeat")["every"] = "0m"


def gateway_config(
    stored: Mapping[str, Any] | None,
    *,
    port: int,
    token: str,
    echo_base_url: str | None = None,
    echo_api_key: str = "offline",
    workspace: str | None = None,
) -> dict[str, Any]:
    """The gateway's config. `echo_base_url` makes the offline echo (served there) the only model;
    `workspace` pins the agents' default workspace directory."""
    config: dict[str, Any] = {k: copy.deepcopy(stored[k]) for k in KEPT if stored and k in stored}
    agents = _block(config, "agents")
    defaults = _block(agents, "defaults")
    models = _block(config, "models")
    if echo_base_url is not None:
        models["providers"] = {
            ECHO_PROVIDER: {
                "baseUrl": echo_base_url,
                "apiKey": echo_api_key,
                "api": "openai-completions",
                "models": [
                    {"id": "echo", "name": "offline echo", "contextWindow": 200_000, "maxTokens": 4096}
                ],
            }
        }
        _block(defaults, "model").clear()
        defaults["model"]["primary"] = f"{ECHO_PROVIDER}/echo"
    if workspace is not None:
        defaults["workspace"] = workspace
    _block(models, "catalogRefresh")["enabled"] = False
    _heartbeat_off(defaults)
    entries = agents.get("entries")
    if isinstance(entries, dict):
        for entry in entries.values():
            if isinstance(entry, dict) and "heartbeat" in entry:
                _heartbeat_off(entry)
    config["gateway"] = {
        "mode": "local",
        "bind": "loopback",
        "port": port,
        "auth": {"mode": "token", "token": token},
        "controlUi": {"enabled": False},
        "http": {"endpoints": {"chatCompletions": {"enabled": True}}},
    }
    config["update"] = {"checkOnStart": False}
    config["cron"] = {"enabled": False}
    config["commands"] = {k: False for k in ("bash", "config", "mcp", "plugins", "debug", "restart")}
    return config
