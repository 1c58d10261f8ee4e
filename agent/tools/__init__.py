"""The agent's tools: workspace files, memory search, web fetch, browser; run with per-tool timeouts."""

from __future__ import annotations

from clawbus.agent.tools.base import Tool, ToolBox
from clawbus.agent.tools.web import web_fetch_tool
from clawbus.agent.tools.workspace import workspace_tools

__all__ = ["Tool", "ToolBox", "web_fetch_tool", "workspace_tools"]
