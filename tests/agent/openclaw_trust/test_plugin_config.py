"""What the engine's OpenClaw config gains so each turn's tools follow its trust: the trust plugin."""

from __future__ import annotations

import json

from clawbus.agent.engines.openclaw.config import gateway_config
from clawbus.agent.engines.openclaw.cron.config import with_cron_plugin
from clawbus.agent.engines.openclaw.trust.config import PLUGIN_DIR, with_trust_plugin


def test_the_plugin_is_loaded_with_its_callback_and_the_hook_permissions_it_needs() -> None:
    config = gateway_config(None, port=1, token="g")
    merged = with_trust_plugin(config, url="http://127.0.0.1:9/tools", token="t0k")
    assert merged["plugins"]["load"]["paths"] == [str(PLUGIN_DIR)]
    assert merged["plugins"]["entries"]["clawbus-trust"] == {
        "enabled": True,
        "hooks": {"allowConversationAccess": True, "allowPromptInjection": True},
        "config": {"url": "http://127.0.0.1:9/tools", "token": "t0k"},
    }
    assert "plugins" not in config  # the input is left as it was
    assert with_trust_plugin(merged, url="http://127.0.0.1:9/tools", token="t0k") == merged


def test_it_sits_beside_the_cron_plugin_and_an_allowlist_of_plugins() -> None:
    config = with_cron_plugin({"plugins": {"allow": ["memory-core"]}}, url="u", token="c")
    merged = with_trust_plugin(config, url="v", token="t")
    assert set(merged["plugins"]["entries"]) == {"clawbus-cron", "clawbus-trust"}
    assert merged["plugins"]["allow"] == ["memory-core", "clawbus-cron", "clawbus-trust"]
    assert len(merged["plugins"]["load"]["paths"]) == 2


def test_the_shipped_plugin_hooks_the_prompt_build_and_fails_closed() -> None:
    manifest = json.loads((PLUGIN_DIR / "openclaw.plugin.json").read_text())
    assert manifest["id"] == "clawbus-trust"
    source = (PLUGIN_DIR / "index.js").read_text()
    assert '"before_prompt_build"' in source
    assert "agent:bootstrap" in source
    assert "return [];" in source  # any failure: no tools
    package = json.loads((PLUGIN_DIR / "package.json").read_text())
    assert package["openclaw"]["extensions"] == ["./index.js"]
