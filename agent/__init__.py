"""The agent: the container AgentCore Runtime hosts (`POST /invocations`, `GET /ping`, port 8080), and,
for the embedded default, a loopback AgentCore data-plane endpoint that forwards `InvokeAgentRuntime`
calls to it.
"""

from __future__ import annotations

from .app import create_app
from .providers import ChatMessage, ModelProvider, OfflineEchoProvider, provider_for

__all__ = ["ChatMessage", "ModelProvider", "OfflineEchoProvider", "create_app", "provider_for"]
