"""One OpenClaw turn over the gateway's OpenAI-compatible endpoint (`POST /v1/chat/completions`).

The turn runs on the session clawbus already derived (`x-openclaw-session-key`: the same `agent:<id>:…`
keys OpenClaw uses) and that session's agent (`x-openclaw-agent-id`), streamed (`stream: true`): the
answer is the concatenated `delta.content` of the server-sent chunks. Errors are classified here, at the
boundary (`classify_status`): the gateway unreachable, a timeout, 429 and 5xx are retryable (the
dispatcher retries the turn later); another 4xx is permanent (the same request fails the same way).
"""

from __future__ import annotations

import json

import httpx

from clawbus.bus.errors import (
    ClawbusError,
    DeadlineExceeded,
    PermanentError,
    Throttled,
    Unauthorized,
    Unavailable,
)
from clawbus.schemas.session_key_parse import parse_session_key


class GatewayUnreachable(Unavailable):
    """The connection to the gateway failed or broke (refused, reset): it may have died."""


SESSION_HEADER = "x-openclaw-session-key"
AGENT_HEADER = "x-openclaw-agent-id"


def agent_of(session_key: str) -> str:
    """The agent id in an `agent:<id>:…` session key (`main` for any other key)."""
    return parse_session_key(session_key).agent_id or "main"


def classify_status(status: int, detail: str = "") -> ClawbusError | None:
    """The error an HTTP status means for a turn, or None for a success."""
    what = f"OpenClaw gateway answered HTTP {status}" + (f": {detail[:200]}" if detail else "")
    if status < 400:
        return None
    if status == 429:
        return Throttled(what)
    if status >= 500:
        return Unavailable(what)
    if status in (401, 403):
        return Unauthorized(what + " (the engine's gateway token)")
    return PermanentError(what)


def text_of_stream(lines: list[str]) -> str:
    """The answer in a chat-completions SSE stream's `data:` lines (non-JSON lines skipped).

    A failed run streams an `error` object before `[DONE]` (OpenClaw's gateway/openai-http-api.md), and
    a stream cut before `[DONE]` did not finish: either is an error, never an empty (silent) answer.
    Raises:
        PermanentError: OpenClaw refused the request (`invalid_request_error`).
        Unavailable: the run failed, or the stream ended early (retryable).
    """
    out = []
    done = False
    for line in lines:
        data = line.removeprefix("data:").strip() if line.startswith("data:") else ""
        if data == "[DONE]":
            done = True
        if not data or data == "[DONE]":
            continue
        try:
            chunk = json.loads(data)
        except ValueError:
            continue
        error = chunk.get("error") if isinstance(chunk, dict) else None
        if error:
            detail = error.get("message", "") if isinstance(error, dict) else str(error)
            kind = error.get("type", "") if isinstance(error, dict) else ""
            what = f"OpenClaw's turn failed: {str(detail)[:300]}"
            raise PermanentError(what) if kind == "invalid_request_error" else Unavailable(what)
        for choice in chunk.get("choices") or []:
            content = (choice.get("delta") or {}).get("content")
            if isinstance(content, str):
                out.append(content)
    if not done:
        raise Unavailable("OpenClaw's answer stream ended before [DONE]")
    return "".join(out)


async def chat_turn(
    client: httpx.AsyncClient,
    base_url: str,
    token: str,
    session_key: str,
    text: str,
    content: str | list[dict[str, object]] | None = None,
) -> str:
    """OpenClaw's answer to `text` on `session_key` (sent as `content` instead when given: the user's
    files as parts, `agent.media.chat_content`); raises classified clawbus errors only."""
    headers = {
        "authorization": f"Bearer {token}",
        SESSION_HEADER: session_key,
        AGENT_HEADER: agent_of(session_key),
    }
    body = {
        "model": "openclaw",
        "stream": True,
        "messages": [{"role": "user", "content": text if content is None else content}],
    }
    try:
        async with client.stream("POST", f"{base_url}/v1/chat/completions", json=body, headers=headers) as r:
            if r.status_code >= 400:
                error = classify_status(r.status_code, (await r.aread()).decode(errors="replace"))
                assert error is not None
                raise error
            lines = [line async for line in r.aiter_lines()]
    except httpx.TimeoutException as exc:
        raise DeadlineExceeded("OpenClaw gateway: the turn timed out") from exc
    except httpx.TransportError as exc:
        raise GatewayUnreachable(f"OpenClaw gateway unreachable ({type(exc).__name__})") from exc
    return text_of_stream(lines)
