"""Any OpenAI-compatible chat-completions endpoint (`POST {base_url}/chat/completions`), for `openai/<model>`.

Our messages map onto the chat format: the system prompt first, a user's image as an `image_url`
data URL part (other files as text, `agent/media`), tool calls as `tool_calls` with JSON
string arguments, each tool result as a `role: tool` message. HTTP 429 → `Throttled` (with
`Retry-After`), 5xx, timeouts and connection errors → `Unavailable`/`DeadlineExceeded`, other 4xx →
`PermanentError`; the key is sent as a bearer token and never logged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx
from pydantic import SecretStr

from clawbus.agent.models.base import Media, Message, ModelReply, Text, ToolCall, ToolResult, ToolSpec, Usage
from clawbus.agent.models.media_text import chat_content
from clawbus.bus.errors import DeadlineExceeded, PermanentError, Throttled, Unauthorized, Unavailable


def _content(message: Message) -> str | list[dict[str, object]] | None:
    """A message's `content`: its text, or content parts when it carries the user's files (an image as
    an `image_url` data URL, anything else as its text: `agent.media.chat_content`)."""
    media = [b for b in message.blocks if isinstance(b, Media)]
    return chat_content(message.text, media) if media else (message.text or None)


def to_chat(system: str, messages: Sequence[Message]) -> list[dict[str, Any]]:
    """The chat-completions `messages` for a system prompt and our conversation."""
    out: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for message in messages:
        results = [b for b in message.blocks if isinstance(b, ToolResult)]
        out.extend({"role": "tool", "tool_call_id": r.tool_use_id, "content": r.text} for r in results)
        if results:  # a message steered in after the tools (agent/turn_control.py) follows their results
            if message.text:
                out.append({"role": "user", "content": message.text})
            continue
        entry: dict[str, Any] = {"role": message.role, "content": _content(message)}
        calls = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.input)}}
            for c in message.tool_calls
        ]
        if calls:
            entry["tool_calls"] = calls
        out.append(entry)
    return out


def from_chat(body: dict[str, Any], model: str) -> ModelReply:
    """A chat-completions response as our reply."""
    try:
        choice = body["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError) as exc:
        raise PermanentError(f"{model}: response without choices[0].message") from exc
    blocks: list[Text | ToolCall] = [Text(message["content"])] if message.get("content") else []
    for call in message.get("tool_calls") or []:
        try:
            args = json.loads(call["function"].get("arguments") or "{}")
        except json.JSONDecodeError:
            args = {"_unparsed": call["function"].get("arguments")}
        blocks.append(ToolCall(str(call["id"]), str(call["function"]["name"]), args))
    usage = body.get("usage") or {}
    return ModelReply(
        Message("assistant", tuple(blocks)),
        stop_reason=str(choice.get("finish_reason") or "stop"),
        usage=Usage(int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))),
        model=model,
    )


class OpenAICompatModel:
    """One model on an OpenAI-compatible endpoint, through a shared `httpx.AsyncClient`."""

    def __init__(
        self, client: httpx.AsyncClient, base_url: str, model: str, api_key: SecretStr | None, max_tokens: int
    ) -> None:
        self._client = client
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._model = model
        self._api_key = api_key
        self._max_tokens = max_tokens

    @property
    def name(self) -> str:
        """`openai/<model>`."""
        return f"openai/{self._model}"

    async def converse(
        self, system: str, messages: Sequence[Message], tools: Sequence[ToolSpec]
    ) -> ModelReply:
        """One chat-completions call, errors classified at the boundary."""
        body: dict[str, Any] = {
            "model": self._model,
            "messages": to_chat(system, messages),
            "max_tokens": self._max_tokens,
        }
        if tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": t.input_schema},
                }
                for t in tools
            ]
        headers = {}
        if self._api_key is not None:
            headers["authorization"] = f"Bearer {self._api_key.get_secret_value()}"
        try:
            response = await self._client.post(self._url, json=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise DeadlineExceeded(f"{self.name}: timed out") from exc
        except httpx.TransportError as exc:
            raise Unavailable(f"{self.name}: cannot reach {self._url} ({type(exc).__name__})") from exc
        status = response.status_code
        if status == 429:
            after = response.headers.get("retry-after")
            raise Throttled(
                f"{self.name}: HTTP 429", retry_after=float(after) if after and after.isdigit() else None
            )
        if status >= 500:
            raise Unavailable(f"{self.name}: HTTP {status}")
        if status in (401, 403):
            raise Unauthorized(f"{self.name}: HTTP {status}; check CLAWBUS_AGENT__OPENAI__API_KEY")
        if status >= 400:
            raise PermanentError(f"{self.name}: HTTP {status}")
        return from_chat(response.json(), self.name)
