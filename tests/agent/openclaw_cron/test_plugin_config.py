"""What the engine's OpenClaw config gains for clawbus's cron: the plugin, its callback, no built-in cron."""

from __future__ import annotations

import json

from clawbus.agent.engines.openclaw.cron.config import PLUGIN_DIR, with_cron_plugin


def test_the_plugin_replaces_openclaws_cron_tool_and_keeps_what_the_config_had() -> None:
    config = {
        "plugins": {"load": {"paths": ["/opt/mine"]}, "allow": ["memory-core"]},
        "tools": {"deny": ["browser"], "allow": ["read", "cron"]},
        "gateway": {"port": 1},
    }
    merged = with_cron_plugin(config, url="http://127.0.0.1:9/cron", token="t0k")
    assert merged["plugins"]["load"]["paths"] == ["/opt/mine", str(PLUGIN_DIR)]
    assert merged["plugins"]["allow"] == ["memory-core", "clawbus-cron"]
    assert merged["plugins"]["entries"]["clawbus-cron"] == {
        "enabled": True,
        "config": {"url": "http://127.0.0.1:9/cron", "token": "t0k"},
    }
    assert merged["tools"]["deny"] == ["browser", "cron"]
    assert merged["tools"]["allow"] == ["read", "clawbus_cron"]
    assert merged["gateway"] == {"port": 1}
    assert config["tools"]["deny"] == ["browser"]  # the input is left as it was
    assert with_cron_plugin(merged, url="http://127.0.0.1:9/cron", token="t0k") == merged  # idempotent


def test_an_empty_config_gets_the_plugin_without_an_allowlist() -> None:
    merged = with_cron_plugin({}, url="u", token="t")
    assert merged["tools"] == {"deny": ["cron"]}
    assert "allow" not in merged["plugins"]


def test_the_shipped_plugin_declares_the_tool_it_registers() -> None:
    manifest = json.loads((PLUGIN_DIR / "openclaw.plugin.json").read_text())
    assert manifest["id"] == "clawbus-cron"
    assert manifest["contracts"]["tools"] == ["clawbus_cron"]
    assert "clawbus_cron" in (PLUGIN_DIR / "index.js").read_text()
    package = json.loads((PLUGIN_DIR / "package.json").read_text())
    assert package["openclaw"]["extensions"] == ["./index.js"]
