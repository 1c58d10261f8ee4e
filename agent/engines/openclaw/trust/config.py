"""What the engine adds to its generated OpenClaw config so each turn's tools follow its trust. Pure.

`plugins.load.paths` gets the plugin's directory (shipped in this package, loaded offline), and
`plugins.entries.clawbus-trust` its callback URL and token, with the hook permissions its
`before_prompt_build` hook needs (a non-bundled plugin's conversation hooks run only with
`allowConversationAccess`; `allowPromptInjection: false` would block it). An explicit `plugins.allow`
list gets the plugin too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clawbus.agent.engines.openclaw.plugin_config import with_plugin

PLUGIN_ID = "clawbus-trust"
PLUGIN_DIR = Path(__file__).resolve().parent / "plugin"


def with_trust_plugin(config: dict[str, Any], *, url: str, token: str) -> dict[str, Any]:
    """`config` (an openclaw.json document) with the trust plugin loaded and pointed at the callback
    (`callback.TrustCallback`). The input is left unchanged."""
    entry = {
        "hooks": {"allowConversationAccess": True, "allowPromptInjection": True},
        "config": {"url": url, "token": token},
    }
    return with_plugin(config, PLUGIN_ID, PLUGIN_DIR, entry)
