"""Loading one of clawbus's OpenClaw plugins into a gateway config (pure).

Each plugin (`cron/plugin/`, `trust/plugin/`) ships inside the package and is loaded from its folder
(`plugins.load.paths`), enabled with its callback's URL and token (`plugins.entries.<id>.config`), kept
on an existing `plugins.allow` list and taken off `plugins.deny`: a user's plugin policy cannot switch
off what the engine relies on.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any


def appended(values: Any, item: str) -> list[Any]:
    """`values` (a list, or anything else meaning none) with `item` at the end unless already there."""
    listed = list(values) if isinstance(values, list) else []
    return listed if item in listed else [*listed, item]


def with_plugin(
    config: dict[str, Any], plugin_id: str, folder: Path, entry: dict[str, Any]
) -> dict[str, Any]:
    """`config` with the plugin at `folder` loaded and enabled under `plugin_id` with `entry` (its
    `config`, `hooks` …). The input is left unchanged."""
    merged = copy.deepcopy(config)
    plugins = merged.setdefault("plugins", {})
    load = plugins.setdefault("load", {})
    load["paths"] = appended(load.get("paths"), str(folder))
    plugins.setdefault("entries", {})[plugin_id] = {"enabled": True, **entry}
    if isinstance(plugins.get("allow"), list):
        plugins["allow"] = appended(plugins["allow"], plugin_id)
    if isinstance(plugins.get("deny"), list):
        plugins["deny"] = [p for p in plugins["deny"] if p != plugin_id]
    return merged
