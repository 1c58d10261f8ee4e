"""The whole pipeline, every stage its own process, on the real loopback AWS API."""

from __future__ import annotations

import asyncio
import json

import httpx

from tests.conftest import Pipeline
from tests.helpers import eventually
from tests.pipeline.webchat_client import post, replies

SESSIONS = 6
MESSAGES = 4


async def test_every_session_gets_each_reply_once_and_in_order(pipeline: Pipeline) -> None:
    async with pipeline.webchat(timeout=30) as client:

        async def converse(session: int) -> None:
            for turn in range(MESSAGES):  # each session sends its messages in order, sessions at once
                await post(client, f"conv{session}", f"s{session} m{turn}")

        await asyncio.gather(*(converse(s) for s in range(SESSIONS)))

        async def all_answered() -> dict[int, list[str]] | None:
            got = {s: [m["text"] for m in await replies(client, f"conv{s}")] for s in range(SESSIONS)}
            return got if all(len(texts) >= MESSAGES for texts in got.values()) else None

        answered = await eventually(all_answered, timeout=60, interval=0.5, what="every reply")
        await asyncio.sleep(2)  # a late duplicate would land now; none may
        for session in range(SESSIONS):
            texts = [m["text"] for m in await replies(client, f"conv{session}")]
            expected = [
                f"(native · offline echo · turn {turn + 1}) You said: s{session} m{turn}"
                for turn in range(MESSAGES)
            ]
            assert texts == expected, f"session {session}: {texts}"
        assert set(answered) == set(range(SESSIONS))


async def test_a_resent_message_is_answered_once(pipeline: Pipeline) -> None:
    async with pipeline.webchat(timeout=30) as client:
        first = await post(client, "retry", "only once", client_id="same-id")
        again = await post(client, "retry", "only once", client_id="same-id")  # a browser retry
        assert first == again
        await post(client, "retry", "after")

        async def two() -> list[str] | None:
            texts = [m["text"] for m in await replies(client, "retry")]
            return texts if len(texts) >= 2 else None

        await eventually(two, timeout=30, what="two replies")
        await asyncio.sleep(2)
        texts = [m["text"] for m in await replies(client, "retry")]
        assert texts == [
            "(native · offline echo · turn 1) You said: only once",
            "(native · offline echo · turn 2) You said: after",
        ]


async def test_one_trace_runs_from_ingress_through_the_dispatcher_to_egress(
    shared_pipeline: Pipeline,
) -> None:
    async with shared_pipeline.webchat(timeout=30) as client:
        event_id = await post(client, "traced", "follow me")

        async def answered() -> list[dict[str, object]] | None:
            return await replies(client, "traced") or None

        reply_id = (await eventually(answered, timeout=30, what="the reply"))[0]["reply_id"]

    def logged(stage: str, event: str, key: str, value: object) -> dict[str, object]:
        lines = (shared_pipeline.log_dir / f"{stage}.log").read_text().splitlines()
        records = [json.loads(line) for line in lines if line.startswith("{")]
        return next(r for r in records if r.get("event") == event and r.get(key) == value)

    accepted = logged("ingress", "ingress.event.accepted", "event_id", event_id)
    turn = logged("dispatcher", "dispatcher.turn.completed", "event_id", event_id)
    sent = logged("egress-webchat", "egress.send.completed", "reply_id", reply_id)
    assert accepted["trace_id"] == turn["trace_id"] == sent["trace_id"]
    assert len({accepted["span_id"], turn["span_id"], sent["span_id"]}) == 3  # one span per hop
    for record in (accepted, turn, sent):  # message text never reaches the logs
        assert "follow me" not in json.dumps(record)


async def test_webchat_is_answered_in_place_but_never_becomes_the_last_route(pipeline: Pipeline) -> None:
    # Heartbeats and cron announcements go to the last route, on the session entries; as in OpenClaw,
    # WebChat never inherits it (only a trusted DM on a chat channel moves it: tests/pipeline/test_routes.py).
    from clawbus.bus.topology import sessions_table_name
    from clawbus.storage import DynamoSessionIndex, trusted_route

    async with pipeline.webchat(timeout=30) as client:
        await post(client, "route-check", "where am I")
        await eventually(lambda: _answered(client, "route-check"), timeout=30, what="the reply")
    async with pipeline.bus.aio("dynamodb") as dynamodb:
        index = DynamoSessionIndex(dynamodb, sessions_table_name(pipeline.bus.prefix))
        entries = await index.entries("main")
    assert entries, "the turn left no session entry"
    routed = {
        key: (e.last_channel, e.last_to) for key, e in entries.items() if e.last_channel or e.delivery_context
    }
    assert routed == {}
    assert all(trusted_route(e) is None for e in entries.values())


async def _answered(client: httpx.AsyncClient, conversation: str) -> list[str] | None:
    texts = [m["text"] for m in await replies(client, conversation)]
    return texts or None
