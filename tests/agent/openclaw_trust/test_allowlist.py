"""Which tools an untrusted OpenClaw turn keeps: clawbus's untrusted policy as OpenClaw tool names."""

from __future__ import annotations

from clawbus.agent.engines.openclaw.trust.allowlist import tools_allow_for, untrusted_tools_allow
from clawbus.bus.settings import AgentToolSettings, ToolSettings, UntrustedToolSettings

DANGEROUS = {"write", "edit", "apply_patch", "exec", "process", "read", "memory_search", "memory_get"}
DANGEROUS |= {"cron", "clawbus_cron", "browser", "gateway", "sessions_spawn", "message", "nodes"}


def test_by_default_an_untrusted_turn_keeps_the_web_tools_only() -> None:
    assert untrusted_tools_allow(ToolSettings(), "main") == ["web_search", "x_search", "web_fetch"]


def test_a_trusted_turn_keeps_its_surface() -> None:
    assert tools_allow_for(ToolSettings(), "main", trusted=True) is None
    assert tools_allow_for(ToolSettings(), "main", trusted=False) == ["web_search", "x_search", "web_fetch"]


def test_a_deny_is_applied_to_the_allowlist() -> None:
    tools = ToolSettings(untrusted=UntrustedToolSettings(allow=["group:web"], deny=["web_search", "x_*"]))
    assert untrusted_tools_allow(tools, "main") == ["web_fetch"]


def test_cron_allowed_for_strangers_means_clawbus_cron_not_openclaws_own() -> None:
    tools = ToolSettings(untrusted=UntrustedToolSettings(allow=["web_fetch"], also_allow=["cron"]))
    assert untrusted_tools_allow(tools, "main") == ["web_fetch", "clawbus_cron"]


def test_no_allowlist_keeps_every_known_tool_but_the_denied_and_no_unnamed_plugin_tool() -> None:
    tools = ToolSettings(untrusted=UntrustedToolSettings(allow=[], deny=["group:runtime", "group:fs"]))
    allowed = untrusted_tools_allow(tools, "main")
    assert not {"exec", "process", "write", "edit", "read", "apply_patch"} & set(allowed)
    assert {"web_fetch", "browser", "clawbus_cron"} <= set(allowed)
    assert "my_plugin_tool" not in allowed


def test_a_plugin_tool_named_in_the_allowlist_is_kept() -> None:
    tools = ToolSettings(untrusted=UntrustedToolSettings(allow=["web_fetch", "Weather_Now", "mcp_*"]))
    assert untrusted_tools_allow(tools, "main") == ["web_fetch", "weather_now"]


def test_the_agents_own_untrusted_layer_replaces_the_global_one() -> None:
    tools = ToolSettings(
        agents={"Helper": AgentToolSettings(untrusted=UntrustedToolSettings(allow=["read", "web_fetch"]))}
    )
    assert untrusted_tools_allow(tools, "helper") == ["read", "web_fetch"]
    assert untrusted_tools_allow(tools, "main") == ["web_search", "x_search", "web_fetch"]


def test_star_lifts_the_allowlist_to_every_known_tool() -> None:
    allowed = untrusted_tools_allow(ToolSettings(untrusted=UntrustedToolSettings(allow=["*"])), "main")
    assert DANGEROUS - {"cron"} <= set(allowed)
    assert "cron" not in allowed  # OpenClaw's own cron is denied for every turn; clawbus_cron stands in
