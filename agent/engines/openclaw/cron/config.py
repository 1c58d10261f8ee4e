"""What the engine adds to its generated OpenClaw config so the agent's cron is clawbus's. Pure.

- `plugins.load.paths` gets the plugin's directory (shipped in this package, loaded offline, nothing
  installed) and `plugins.entries.clawbus-cron` its callback URL and token;
- `tools.deny` gets `cron`: OpenClaw's built-in tool, which would write jobs to OpenClaw's own store.
  A plugin cannot take over the name `cron`: OpenClaw skips a plugin tool whose name is a core tool's
  (`plugin tool name conflict`), and a deny of `cron` would hide it too; hence `clawbus_cron`;
- an explicit `tools.allow` list gets `clawbus_cron` (without one, plugin tools are offered anyway).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

PLUGIN_ID = "clawbus-cron"
TOOL_NAME = "clawbus_cron"
BUILTIN_TOOL = "cron"
PLUGIN_DIR = Path(__file__).resolve().parent / "plugin"


def _append(values: Any, item: str) -> list[Any]:
    listed = list(values) if isinstance(values, list) else []
    return listed if item in listed else [*listed, item]


def with_cron_plugin(config: dict[str, Any], *, url: str, token: str) -> dict[str, Any]:
    """`config` (an openclaw.json document) with clawbus's cron plugin in place of OpenClaw's cron tool;
    `url` and `token` name the callback (`callback.CronCallback`). The input is left unchanged."""
    merged = copy.deepcopy(config)
    plugins = merged.setdefault("plugins", {})
    load = plugins.setdefault("load", {})
    load["paths"] = _append(load.get("paths"), str(PLUGIN_DIR))
    entries = plugins.setdefault("entries", {})
    entries[PLUGIN_ID] = {"enabled": True, "config": {"url": url, "token": token}}
    if isinstance(plugins.get("allow"), list):
        plugins["allow"] = _append(plugins["allow"], PLUGIN_ID)
    tools = merged.setdefault("tools", {})
    tools["deny"] = _append(tools.get("deny"), BUILTIN_TOOL)
    if isinstance(tools.get("allow"), list):
        tools["allow"] = [t for t in _append(tools["allow"], TOOL_NAME) if t != BUILTIN_TOOL]
    return merged
