"""Model providers behind one `Model` Protocol: offline (echo, scripted), Bedrock, OpenAI-compatible."""

from __future__ import annotations

from .base import Message, Model, ModelReply, Text, ToolCall, ToolResult, ToolSpec, Usage, assistant, user
from .failover import FailoverModel
from .offline import OfflineEcho, ScriptedModel

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
