"""The offline echo served as OpenAI chat completions, as OpenClaw's `openai-completions` provider calls."""

from __future__ import annotations

import json

import httpx

from clawbus.agent.models.echo_server import serve_echo

BODY = {
    "model": "echo",
    "messages": [
        {"role": "system", "content": "You are an agent."},
        {"role": "user", "content": "[Fri 2026-12-04 12:00 UTC] first\nRuntime: agent=main"},
        {"role": "assistant", "content": "(openclaw · offline echo · turn 1) You said: first"},
        {"role": "user", "content": [{"type": "text", "text": "[Fri 2026-12-04 12:01 UTC] second"}]},
        {"role": "user", "content": "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>\nnotes"},
    ],
}
WANT = "(openclaw · offline echo · turn 2) You said: second"


async def test_a_json_completion_echoes_the_last_user_turn_with_its_number() -> None:
    async with serve_echo("openclaw") as base, httpx.AsyncClient() as client:
        answer = await client.post(f"{base}/chat/completions", json=BODY)
    assert answer.status_code == 200
    assert answer.json()["choices"][0]["message"]["content"] == WANT


async def test_a_streamed_completion_sends_the_text_in_chunks_then_done() -> None:
    async with serve_echo("openclaw") as base, httpx.AsyncClient() as client:
        answer = await client.post(f"{base}/chat/completions", json={**BODY, "stream": True})
    events = [line.removeprefix("data: ") for line in answer.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    text = "".join(json.loads(e)["choices"][0]["delta"].get("content") or "" for e in events[:-1])
    assert (answer.headers["content-type"].split(";")[0], text) == ("text/event-stream", WANT)


async def test_a_body_that_is_not_json_gets_400() -> None:
    async with serve_echo("openclaw") as base, httpx.AsyncClient() as client:
        answer = await client.post(f"{base}/chat/completions", content=b"{")
    assert answer.status_code == 400
