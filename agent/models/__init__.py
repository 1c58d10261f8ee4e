"""Model providers behind one `Model` Protocol: offline (echo, scripted), Bedrock, OpenAI-compatible."""

from __future__ import annotations

from clawbus.agent.models.base import (
    Message,
    Model,
    ModelReply,
    Text,
    ToolCall,
    ToolResult,
    ToolSpec,
    Usage,
    assistant,
    user,
)
from clawbus.agent.models.failover import FailoverModel
from clawbus.agent.models.offline import OfflineEcho, ScriptedModel

__all__ = [
    "FailoverModel",
    "Message",
    "Model",
    "ModelReply",
    "OfflineEcho",
    "ScriptedModel",
    "Text",
    "ToolCall",
    "ToolResult",
    "ToolSpec",
    "Usage",
    "assistant",
    "user",
]
