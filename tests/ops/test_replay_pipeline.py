"""Dead letters replayed into the running pipeline: answered once, in the session's order.

The pipeline runs in `followup` queue mode (one turn per message; in the default `collect` mode a
session's replayed backlog is answered as one turn, in the same order). It also gets
`CLAWBUS_LOCAL__DATA_DIR`, so ingress's dashboard reads the dispatcher's log for its turn figures, as
under `clawbus up`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from clawbus.bus.topology import inbound_queue_name
from clawbus.channels.webchat.inbound import WebchatMessageIn, normalise
from clawbus.schemas import DmScope, attributes, message_group_id
from tests.conftest import Pipeline, make_bus, start_pipeline
from tests.helpers import eventually
from tests.ops.ops_cli import clawbus, dead_letter


@pytest.fixture(scope="module")
def ops_pipeline(aws_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """The whole pipeline, its logs where ingress's dashboard looks for them."""
    data_dir = tmp_path_factory.mktemp("ops-data")
    running = start_pipeline(
        make_bus(aws_endpoint),
        data_dir / "logs",
        {
            "CLAWBUS_SESSION__DM_SCOPE": "per-channel-peer",
            "CLAWBUS_LOCAL__DATA_DIR": str(data_dir),
            # one turn per message, so each replayed letter's reply shows where it landed in the session
            "CLAWBUS_DISPATCHER__QUEUE__MODE": "followup",
        },
    )
    yield running
    codes = running.stop()
    assert all(code == 0 for _, code in codes), codes


def _event(conversation: str, text: str) -> tuple[str, str, str]:
    """(body, group id, event id) of a WebChat message, as ingress would have enqueued it."""
    event = normalise(
        WebchatMessageIn(conversation=conversation, text=text, client_message_id=uuid.uuid4().hex),
        agent_id="main",
        dm_scope=DmScope.PER_CHANNEL_PEER,
        now=datetime.now(UTC),
    )
    return event.to_wire(), message_group_id(event.session_key), event.event_id


async def _replies(client: httpx.AsyncClient, conversation: str) -> list[str]:
    response = await client.get(f"/webchat/api/conversations/{conversation}/messages")
    assert response.status_code == 200, response.text
    return [m["text"] for m in response.json()["messages"]]


def _echo(text: str, turn: int) -> str:
    return f"(native · offline echo · turn {turn}) You said: {text}"


async def test_replay_after_the_cause_is_fixed_answers_once_in_session_order(
    ops_pipeline: Pipeline, tmp_path: Path
) -> None:
    bus = ops_pipeline.bus
    conversation = f"replay-{uuid.uuid4().hex[:8]}"
    # Two turns that exhausted their retries while the agent was unreachable (the cause, now fixed).
    first, second = _event(conversation, "first"), _event(conversation, "second")
    for body, group, event_id in (first, second):
        dead_letter(bus, body, group, event_id)
    session = json.loads(first[0])["session_key"]
    listed = clawbus(bus, tmp_path, "dlq", "list", "inbound", "--json").json()["letters"]
    assert [(x["session"], x["reason"]) for x in listed if x["session"] == session] == [
        (session, "InvokeAgentRuntime: cannot reach the endpoint")
    ] * 2

    replayed = clawbus(bus, tmp_path, "dlq", "replay", "inbound", "--session", session)
    assert replayed.code == 0, replayed.err
    assert "2 replayed" in replayed.out

    async with ops_pipeline.webchat(timeout=30) as client:
        sent = await client.post(
            "/webchat/api/messages", json={"conversation": conversation, "text": "third"}
        )
        assert sent.status_code == 202

        async def three() -> list[str] | None:
            got = await _replies(client, conversation)
            return got if len(got) >= 3 else None

        assert await eventually(three, timeout=40, what="three replies") == [
            _echo("first", 1),
            _echo("second", 2),
            _echo("third", 3),
        ]

        # Replay again: nothing is left to send.
        again = clawbus(bus, tmp_path, "dlq", "replay", "inbound", "--session", session)
        assert again.code == 1
        assert "0 replayed" in again.out
        # The same dead letter replayed once more after SQS's 5-minute dedup window (a crash between
        # send and delete, noticed late): it reaches the dispatcher again, whose ledger answers it.
        bus.client("sqs").send_message(
            QueueUrl=bus.queue_url(inbound_queue_name(bus.prefix)),
            MessageBody=first[0],
            MessageGroupId=first[1],
            MessageDeduplicationId=f"replay:late-{uuid.uuid4().hex}",
            MessageAttributes={attributes.REPLAY: {"DataType": "String", "StringValue": "late"}},
        )
        sent = await client.post(
            "/webchat/api/messages", json={"conversation": conversation, "text": "fourth"}
        )
        assert sent.status_code == 202

        async def four() -> list[str] | None:
            got = await _replies(client, conversation)
            return got if _echo("fourth", 4) in got else None

        # The session is one FIFO group: once "fourth" is answered, the late replay was handled before it.
        assert await eventually(four, timeout=40, what="the fourth reply") == [
            _echo("first", 1),
            _echo("second", 2),
            _echo("third", 3),
            _echo("fourth", 4),
        ]


async def test_ingress_serves_the_dashboard_with_turn_figures_from_the_dispatcher(
    ops_pipeline: Pipeline,
) -> None:
    async with ops_pipeline.webchat(timeout=30) as client:
        page = await client.get("/dashboard")
        assert page.status_code == 200
        assert "turns per minute" in page.text
        sent = await client.post(
            "/webchat/api/messages", json={"conversation": "dash-turns", "text": "count me"}
        )
        assert sent.status_code == 202

        async def answered() -> list[str] | None:
            return await _replies(client, "dash-turns") or None

        await eventually(answered, timeout=30, what="the reply")

        async def counted() -> dict[str, Any] | None:
            series = (await client.get("/dashboard/api/series")).json()
            turns = series["turns"]
            return series if turns["per_minute"] and turns["per_minute"][-1] >= 1 else None

        series = await eventually(counted, timeout=15, interval=0.5, what="a turn on the dashboard")
    assert series["error"] is None
    assert series["turns"]["latency_ms"][-1] > 0
    assert series["cloudwatch_url"] is None  # the embedded default has no CloudWatch
    assert {q["kind"] for q in series["queues"]} == {"inbound", "egress", "dlq"}
    assert len(series["t"]) == len(series["queues"][0]["visible"])
