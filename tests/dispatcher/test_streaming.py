"""Block streaming, typing presence and claim-checks: what a turn publishes, and when."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from clawbus.agent.streaming import split_blocks
from clawbus.schemas import AgentResponse, parse_outbound, reply_id
from clawbus.schemas.claim_check import read_claim_check
from tests.dispatcher.conftest import turn_message
from tests.helpers import eventually


@given(
    st.text(max_size=5000), st.integers(min_value=1, max_value=400), st.integers(min_value=0, max_value=400)
)
def test_blocks_join_back_to_the_answer_and_fit(text: str, max_chars: int, min_chars: int) -> None:
    min_chars = min(min_chars, max_chars)
    blocks = split_blocks(text, min_chars, max_chars)
    assert "".join(blocks) == text
    assert all(0 < len(block) <= max_chars for block in blocks)


def test_blocks_end_at_paragraphs_when_they_can() -> None:
    text = ("a" * 700 + "\n\n") * 3
    assert split_blocks(text, 500, 1000) == ["a" * 700 + "\n\n"] * 3


async def test_each_block_is_published_when_it_arrives_and_a_redelivery_republishes_them(
    harness_factory: Any,
) -> None:
    gate = asyncio.Event()

    async def invocations(_request: Request) -> Response:
        async def events() -> AsyncIterator[str]:
            yield 'data: {"text": "first block. "}\n\n'
            await gate.wait()  # the agent is still thinking about the rest
            yield 'data: {"text": "second block."}\n\n'
            yield f"data: {AgentResponse(parts=()).to_wire()}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    async with harness_factory(invocations, {"block_streaming": True, "typing_after_ms": 60_000}) as h:
        message = turn_message("tell me a story")
        turn = asyncio.create_task(h.handler([message]))
        await eventually(lambda: asyncio.sleep(0, len(h.topic.published) == 1), what="the first block")
        assert not turn.done()  # published while the agent was still streaming
        gate.set()
        await turn
        rid = reply_id(["webchat:s:1"])
        assert [dedup for dedup, _, _ in h.topic.published] == [f"{rid}-b0", f"{rid}-b1"]
        replies = [parse_outbound(body) for _, body, _ in h.topic.published]
        assert [r.text for r in replies] == ["first block. ", "second block."]
        assert replies[0].created_at < replies[1].created_at  # they sort in order wherever they land

        await h.handler([replace(message, receive_count=2)])  # redelivered after a crash
        assert h.topic.published[2:] == h.topic.published[:2]  # the stored blocks, same ids and bodies


async def test_a_slow_turn_shows_typing_until_the_reply(harness_factory: Any) -> None:
    async def invocations(_request: Request) -> Response:
        await asyncio.sleep(1.2)
        return Response(AgentResponse(parts=("done",)).to_wire(), media_type="application/json")

    async with harness_factory(invocations, {"typing_after_ms": 200, "typing_every_s": 0.4}) as h:
        await h.handler([turn_message()])
        kinds = [attrs["clawbus.kind"] for _, _, attrs in h.topic.published]
        assert kinds[-1] == "message"
        assert 2 <= kinds.count("typing") <= 4  # shown after 0.2 s, kept alive every 0.4 s, then stopped
        assert all(k == "typing" for k in kinds[:-1])
        assert all(attrs["channel"] == "webchat" for _, _, attrs in h.topic.published)


async def test_a_fast_turn_shows_no_typing(harness_factory: Any) -> None:
    async def invocations(_request: Request) -> Response:
        return Response(AgentResponse(parts=("quick",)).to_wire(), media_type="application/json")

    async with harness_factory(invocations, {"typing_after_ms": 1000}) as h:
        await h.handler([turn_message()])
        assert [attrs["clawbus.kind"] for _, _, attrs in h.topic.published] == ["message"]


async def test_a_reply_over_the_limit_travels_as_a_claim_check(harness_factory: Any) -> None:
    long_answer = "x" * 5000

    async def invocations(_request: Request) -> Response:
        return Response(AgentResponse(parts=(long_answer,)).to_wire(), media_type="application/json")

    async with harness_factory(invocations, {"claim_check_bytes": 2048}) as h:
        await h.handler([turn_message()])
        ((_, body, _),) = h.topic.published
        assert len(body) < 2048
        assert read_claim_check(body) is not None
        assert parse_outbound(await h.claim_checks.resolve(body)).text == long_answer


async def test_a_claim_checked_inbound_event_is_read_from_the_bucket(harness_factory: Any) -> None:
    async def invocations(request: Request) -> Response:
        text = (await request.json())["events"][0]["text"]
        return Response(AgentResponse(parts=(f"len {len(text)}",)).to_wire(), media_type="application/json")

    async with harness_factory(invocations, {"claim_check_bytes": 2048}) as h:
        big = turn_message("y" * 10_000)
        pointer = await h.claim_checks.offload(big.body)
        assert read_claim_check(pointer) is not None
        await h.handler([replace(big, body=pointer)])
        assert [parse_outbound(b).text for _, b, _ in h.topic.published] == ["len 10000"]
