"""What the engine adds to its generated OpenClaw config so the agent's cron is clawbus's. Pure.

- `plugins.load.paths` gets the plugin's directory (shipped in this package, loaded offline, nothing
  installed) and `plugins.entries.clawbus-cron` its callback URL and token;
- `tools.deny` gets `cron`: OpenClaw's built-in tool, which would write jobs to OpenClaw's own store.
  A plugin cannot take over the name `cron`: OpenClaw skips a plugin tool whose name is a core tool's
  (`plugin tool name conflict`), and a deny of `cron` would hide it too; hence `clawbus_cron`;
- an explicit `tools.allow` list gets `clawbus_cron` (without one, plugin tools are offered anyway).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clawbus.agent.engines.openclaw.plugin_config import appended, with_plugin

PLUGIN_ID = "clawbus-cron"
TOOL_NAME = "clawbus_cron"
BUILTIN_TOOL = "cron"
PLUGIN_DIR = Path(__file__).resolve().parent / "plugin"


def with_cron_plugin(config: dict[str, Any], *, url: str, token: str) -> dict[str, Any]:
    """`config` (an openclaw.json document) with clawbus's cron plugin in place of OpenClaw's cron tool;
    `url` and `token` name the callback (`callback.CronCallback`). The input is left unchanged."""
    merged = with_plugin(config, PLUGIN_ID, PLUGIN_DIR, {"config": {"url": url, "token": token}})
    tools = merged.setdefault("tools", {})
    tools["deny"] = appended(tools.get("deny"), BUILTIN_TOOL)
    if isinstance(tools.get("allow"), list):
        tools["allow"] = [t for t in appended(tools["allow"], TOOL_NAME) if t != BUILTIN_TOOL]
    return merged
