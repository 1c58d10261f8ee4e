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


WRITE = {"type": "function", "function": {"name": "write", "parameters": {"type": "object"}}}
ASK_TOOL = {
    "model": "echo",
    "tools": [WRITE],
    "messages": [
        {"role": "user", "content": '[Fri 2026-12-04 12:00 UTC] /write {"path": "a.md", "content": "hi"}'},
        {"role": "user", "content": "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>\nnotes"},
    ],
}


async def test_with_the_tool_syntax_a_streamed_turn_calls_an_offered_tool_then_answers_its_result() -> None:
    async with serve_echo("openclaw", tool_syntax=True) as base, httpx.AsyncClient() as client:
        called = await client.post(f"{base}/chat/completions", json={**ASK_TOOL, "stream": True})
        events = [json.loads(line[6:]) for line in called.text.splitlines() if line[6:].startswith("{")]
        [call] = [c for e in events for c in e["choices"][0]["delta"].get("tool_calls", [])]
        reported = await client.post(
            f"{base}/chat/completions",
            json={
                **ASK_TOOL,
                "messages": [
                    *ASK_TOOL["messages"],
                    {"role": "assistant", "content": None, "tool_calls": [call]},
                    {"role": "tool", "tool_call_id": call["id"], "content": "Wrote 2 bytes to a.md"},
                ],
            },
        )
    assert (call["function"]["name"], json.loads(call["function"]["arguments"])) == (
        "write",
        {"path": "a.md", "content": "hi"},
    )
    assert events[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert reported.json()["choices"][0]["message"]["content"] == "Wrote 2 bytes to a.md"


async def test_the_tool_syntax_is_echoed_when_off_or_when_the_tool_is_not_offered() -> None:
    not_offered = {**ASK_TOOL, "tools": []}
    async with (
        serve_echo("openclaw", tool_syntax=True) as on,
        serve_echo("openclaw") as off,
        httpx.AsyncClient() as client,
    ):
        answers = [
            (await client.post(f"{base}/chat/completions", json=body)).json()["choices"][0]["message"]
            for base, body in ((off, ASK_TOOL), (on, not_offered))
        ]
    said = '(openclaw · offline echo · turn 1) You said: /write {"path": "a.md", "content": "hi"}'
    assert [a["content"] for a in answers] == [said, said]
    assert not any(a.get("tool_calls") for a in answers)


async def test_with_an_api_key_only_a_caller_holding_it_is_answered() -> None:
    async with serve_echo("openclaw", api_key="k-123") as base, httpx.AsyncClient() as client:
        anyone = await client.post(f"{base}/chat/completions", json=BODY)
        wrong = await client.post(
            f"{base}/chat/completions", json=BODY, headers={"authorization": "Bearer x"}
        )
        holder = await client.post(
            f"{base}/chat/completions", json=BODY, headers={"authorization": "Bearer k-123"}
        )
    assert (anyone.status_code, wrong.status_code, holder.status_code) == (401, 401, 200)
    assert holder.json()["choices"][0]["message"]["content"] == WANT
