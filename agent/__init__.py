"""The agent: the container AgentCore Runtime hosts (`POST /invocations`, `GET /ping`, port 8080), and,
for the embedded default, a loopback AgentCore data-plane endpoint that forwards `InvokeAgentRuntime`
calls to it.
"""

from __future__ import annotations

from clawbus.agent.app import create_app
from clawbus.agent.runtime import open_runtime
from clawbus.agent.turn import AgentRuntime, run_turn

__all__ = ["AgentRuntime", "create_app", "open_runtime", "run_turn"]
