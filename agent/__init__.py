"""The agent: the container AgentCore Runtime hosts (`POST /invocations`, `GET /ping`, port 8080), and,
for the embedded default, a loopback AgentCore data-plane endpoint that forwards `InvokeAgentRuntime`
calls to it.

The names below load on first use (PEP 562): importing one light submodule (`agent.faults`,
`agent.engines.openclaw.install_layout`) must not pull in the runtime, its tools and every channel SDK,
which is most of a second of a stage's start (docs/performance.md, "Start").
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clawbus.agent.app import create_app
    from clawbus.agent.runtime import open_runtime
    from clawbus.agent.turn import AgentRuntime, run_turn

__all__ = ["AgentRuntime", "create_app", "open_runtime", "run_turn"]

_HOMES = {
    "create_app": "clawbus.agent.app",
    "open_runtime": "clawbus.agent.runtime",
    "AgentRuntime": "clawbus.agent.turn",
    "run_turn": "clawbus.agent.turn",
}


def __getattr__(name: str) -> Any:
    """Each public name from its module, imported when first asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
