"""Amazon Bedrock through the Converse API (`bedrock-runtime`, aiobotocore), for `bedrock/<modelId>`.

Our messages map one-to-one onto Converse's: text blocks `{"text"}`, a user's image
`{"image": {format, source.bytes}}` (other files as their text, `agent/media`), tool calls `{"toolUse"}`, tool
results `{"toolResult"}` in a user message, tools as `toolConfig.tools[].toolSpec`. Botocore's own
retries are off (one attempt): throttling and 5xx come back at once as `Throttled`/`Unavailable`, and
the failover model moves on to the next configured model. `endpoint_url` (settings) points the client
at a stand-in that speaks the Converse wire format, as the tests do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from clawbus.agent.models.base import Block, Media, Message, ModelReply, Text, ToolCall, ToolSpec, Usage
from clawbus.agent.models.media_text import media_text
from clawbus.bus.aws import map_aws_errors
from clawbus.bus.errors import PermanentError

_IMAGE_FORMATS = {"image/jpeg": "jpeg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}


def _block_to_wire(block: Block) -> dict[str, Any]:
    if isinstance(block, Text):
        return {"text": block.text}
    if isinstance(block, Media):  # an image's bytes as Converse image content; anything else as text
        image = _IMAGE_FORMATS.get(block.media_type)
        if block.data is not None and image is not None:
            return {"image": {"format": image, "source": {"bytes": block.data}}}
        return {"text": media_text(block)}
    if isinstance(block, ToolCall):
        return {"toolUse": {"toolUseId": block.id, "name": block.name, "input": block.input}}
    return {
        "toolResult": {
            "toolUseId": block.tool_use_id,
            "content": [{"text": block.text}],
            "status": "error" if block.is_error else "success",
        }
    }


def to_converse(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Messages in Converse's shape (empty text blocks dropped: Converse refuses them)."""
    out = []
    for message in messages:
        content = [_block_to_wire(b) for b in message.blocks if not (isinstance(b, Text) and not b.text)]
        out.append({"role": message.role, "content": content or [{"text": "(empty)"}]})
    return out


def from_converse(response: dict[str, Any], model: str) -> ModelReply:
    """A Converse response as our reply; `PermanentError` for a response without a message."""
    try:
        content = response["output"]["message"]["content"]
    except (KeyError, TypeError) as exc:
        raise PermanentError(f"{model}: Converse response without output.message") from exc
    blocks: list[Block] = []
    for item in content:
        if "text" in item:
            blocks.append(Text(str(item["text"])))
        elif "toolUse" in item:
            use = item["toolUse"]
            blocks.append(ToolCall(str(use["toolUseId"]), str(use["name"]), dict(use.get("input") or {})))
    usage = response.get("usage") or {}
    return ModelReply(
        Message("assistant", tuple(blocks)),
        stop_reason=str(response.get("stopReason", "end_turn")),
        usage=Usage(int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0))),
        model=model,
    )


class BedrockModel:
    """One Bedrock model (`model_id`) on a shared `bedrock-runtime` client."""

    def __init__(self, client: Any, model_id: str, max_tokens: int = 4096) -> None:
        self._client = client
        self._model_id = model_id
        self._max_tokens = max_tokens

    @property
    def name(self) -> str:
        """`bedrock/<modelId>`."""
        return f"bedrock/{self._model_id}"

    async def converse(
        self, system: str, messages: Sequence[Message], tools: Sequence[ToolSpec]
    ) -> ModelReply:
        """One Converse call, errors classified at the boundary (`Throttled`, `Unavailable`, …)."""
        request: dict[str, Any] = {
            "modelId": self._model_id,
            "messages": to_converse(messages),
            "system": [{"text": system}] if system else [],
            "inferenceConfig": {"maxTokens": self._max_tokens},
        }
        if tools:
            specs = [
                {"name": t.name, "description": t.description, "inputSchema": {"json": t.input_schema}}
                for t in tools
            ]
            request["toolConfig"] = {"tools": [{"toolSpec": spec} for spec in specs]}
        with map_aws_errors(f"Converse {self._model_id}"):
            response = await self._client.converse(**request)
        return from_converse(response, self.name)
