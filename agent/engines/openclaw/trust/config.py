"""What the engine adds to its generated OpenClaw config so each turn's tools follow its trust. Pure.

`plugins.load.paths` gets the plugin's directory (shipped in this package, loaded offline), and
`plugins.entries.clawbus-trust` its callback URL and token, with the hook permissions its
`before_prompt_build` hook needs (a non-bundled plugin's conversation hooks run only with
`allowConversationAccess`; `allowPromptInjection: false` would block it). An explicit `plugins.allow`
list gets the plugin too.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

PLUGIN_ID = "clawbus-trust"
PLUGIN_DIR = Path(__file__).resolve().parent / "plugin"


def _append(values: Any, item: str) -> list[Any]:
    listed = list(values) if isinstance(values, list) else []
    return listed if item in listed else [*listed, item]


def with_trust_plugin(config: dict[str, Any], *, url: str, token: str) -> dict[str, Any]:
    """`config` (an openclaw.json document) with the trust plugin loaded and pointed at the callback
    (`callback.TrustCallback`). The input is left unchanged."""
    merged = copy.deepcopy(config)
    plugins = merged.setdefault("plugins", {})
    load = plugins.setdefault("load", {})
    load["paths"] = _append(load.get("paths"), str(PLUGIN_DIR))
    plugins.setdefault("entries", {})[PLUGIN_ID] = {
        "enabled": True,
        "hooks": {"allowConversationAccess": True, "allowPromptInjection": True},
        "config": {"url": url, "token": token},
    }
    if isinstance(plugins.get("allow"), list):
        plugins["allow"] = _append(plugins["allow"], PLUGIN_ID)
    if isinstance(plugins.get("deny"), list):
        plugins["deny"] = [p for p in plugins["deny"] if p != PLUGIN_ID]
    return merged
