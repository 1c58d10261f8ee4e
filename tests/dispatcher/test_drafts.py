"""Progress drafts in the dispatcher (issue 21): a slow turn on a channel that shows drafts publishes its
draft's updates on the session's FIFO group, then the answer that replaces the draft; a quick turn
publishes exactly what it published without drafts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from clawbus.schemas import AgentResponse, OutboundReply, ReplyKind, parse_outbound, reply_id
from tests.dispatcher.conftest import turn_message

DRAFTS = frozenset({"webchat"})
# No cold start unless a test makes one (a loaded machine can hold a first byte past a short threshold)
FAST = {"draft_after_ms": 100, "draft_every_ms": 300, "cold_start_ms": 60_000, "typing_after_ms": 60_000}
COLD = {**FAST, "cold_start_ms": 600}


def published(h: Any) -> list[OutboundReply]:
    return [parse_outbound(body) for _, body, _ in h.topic.published]


async def test_a_slow_tool_using_turn_shows_a_draft_then_the_answer_replaces_it(harness_factory: Any) -> None:
    async def invocations(_request: Request) -> Response:
        async def events() -> AsyncIterator[str]:
            yield 'data: {"progress": ""}\n\n'  # the turn has begun
            await asyncio.sleep(0.8)
            yield 'data: {"progress": "🔎 fetching example.com"}\n\n'
            await asyncio.sleep(0.8)
            yield 'data: {"text": "Example Domain is a test page."}\n\n'
            yield f"data: {AgentResponse(parts=()).to_wire()}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    async with harness_factory(invocations, FAST, draft_channels=DRAFTS) as h:
        await h.handler([turn_message("what is on example.com?")])
        rid = reply_id(["webchat:s:1"])
        replies = published(h)
        assert [r.kind for r in replies] == [ReplyKind.PROGRESS, ReplyKind.PROGRESS, ReplyKind.MESSAGE]
        assert [r.text for r in replies] == [
            "working…",
            "working…\n🔎 fetching example.com",
            "Example Domain is a test page.",
        ]
        assert {r.draft for r in replies} == {rid}  # one draft, and the answer replaces it
        assert [dedup for dedup, _, _ in h.topic.published] == [f"{rid}-p0", f"{rid}-p1", rid]


async def test_a_quick_turn_publishes_its_answer_exactly_as_without_drafts(harness_factory: Any) -> None:
    async def invocations(_request: Request) -> Response:
        return Response(AgentResponse(parts=("quick",)).to_wire(), media_type="application/json")

    async with harness_factory(invocations, {"draft_after_ms": 5000}, draft_channels=DRAFTS) as h:
        await h.handler([turn_message("hi")])
        with_drafts = h.topic.published[:]
    async with harness_factory(invocations, {"draft_after_ms": 5000}) as h:
        await h.handler([turn_message("hi")])
        assert h.topic.published == with_drafts  # byte for byte: no draft, no `draft` field
    assert [r.draft for r in [parse_outbound(body) for _, body, _ in with_drafts]] == [None]


async def test_a_cold_start_says_waking_up_and_the_answer_replaces_the_draft(harness_factory: Any) -> None:
    async def invocations(_request: Request) -> Response:
        await asyncio.sleep(1.5)  # AgentCore starting a microVM: no first byte yet
        return Response(AgentResponse(parts=("awake now",)).to_wire(), media_type="application/json")

    async with harness_factory(invocations, COLD, draft_channels=DRAFTS) as h:
        await h.handler([turn_message("good morning")])
        replies = published(h)
        assert [r.text for r in replies[:2]] == ["working…", "waking up…"]
        assert replies[-1].kind is ReplyKind.MESSAGE
        assert replies[-1].text == "awake now"
        assert replies[-1].draft == reply_id(["webchat:s:1"])


async def test_a_slow_turn_that_ends_silent_clears_its_draft(harness_factory: Any) -> None:
    async def invocations(_request: Request) -> Response:
        await asyncio.sleep(0.5)
        return Response(AgentResponse(parts=()).to_wire(), media_type="application/json")  # NO_REPLY

    async with harness_factory(invocations, FAST, draft_channels=DRAFTS) as h:
        await h.handler([turn_message("ok thanks")])
        replies = published(h)
        assert [(r.kind, r.text) for r in replies] == [
            (ReplyKind.PROGRESS, "working…"),
            (ReplyKind.PROGRESS, ""),
        ]
