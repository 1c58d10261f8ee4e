"""The dispatcher's promises, each against the real loopback AWS API with every stage a real process:
order per session, no session waiting on another, retries, dead letters, crashes, shutdown, the ledger."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from clawbus.bus import errors
from clawbus.bus.topology import dlq_name, inbound_queue_name
from clawbus.dispatcher.core.failure_notice import notice_text, reason_class
from clawbus.schemas import (
    DmScope,
    InboundEvent,
    Peer,
    PeerKind,
    ReplyTarget,
    derive_session_key,
    runtime_session_id,
)
from tests.conftest import ADMIN, FOLLOWUP, Bus, Pipeline, start_pipeline
from tests.helpers import echo, eventually, free_port, stage, wait_for
from tests.pipeline.webchat_client import post, replies


def session_of(conversation: str) -> str:
    return derive_session_key(
        agent_id="main",
        channel="webchat",
        peer_kind=PeerKind.DIRECT,
        peer_id=conversation,
        dm_scope=DmScope.PER_CHANNEL_PEER,
    )


async def fault(pipeline: Pipeline, conversation: str, **rule: Any) -> None:
    """Make the loopback AgentCore endpoint misbehave for one WebChat conversation's session."""
    rule["session_id"] = runtime_session_id(session_of(conversation))
    async with httpx.AsyncClient(base_url=pipeline.agentcore_url, headers=ADMIN) as client:
        response = await client.post("/_clawbus/faults", json=rule)
        assert response.status_code == 201, response.text


async def faults_left(pipeline: Pipeline, conversation: str) -> int:
    """Uses left of the fault rules for a conversation (0: every injected fault was hit)."""
    async with httpx.AsyncClient(base_url=pipeline.agentcore_url, headers=ADMIN) as client:
        rules = (await client.get("/_clawbus/faults")).json()
    session = runtime_session_id(session_of(conversation))
    return sum(r["times"] for r in rules if r["session_id"] == session)


def agent_turns(pipeline: Pipeline) -> int:
    """How many turns the agent container actually ran."""
    log = (pipeline.log_dir / "agent.log").read_text()
    return log.count('"event": "agent.turn.completed"')


async def texts(client: httpx.AsyncClient, conversation: str) -> list[str]:
    return [m["text"] for m in await replies(client, conversation)]


async def until_answered(
    client: httpx.AsyncClient, conversation: str, count: int, timeout: float = 40
) -> list[str]:
    async def enough() -> list[str] | None:
        got = await texts(client, conversation)
        return got if len(got) >= count else None

    return await eventually(enough, timeout=timeout, interval=0.3, what=f"{count} replies in {conversation}")


@pytest.fixture
def crashable(bus: Bus, tmp_path: Path) -> Iterator[Pipeline]:
    """A pipeline whose dispatcher a test may kill; short visibility so crashed turns come back soon."""
    running = start_pipeline(
        bus, tmp_path / "logs", {**FOLLOWUP, "CLAWBUS_DISPATCHER__VISIBILITY_TIMEOUT_S": "10"}
    )
    yield running
    codes = running.stop()
    assert all(code == 0 for _, code in codes), codes


async def test_a_slow_session_does_not_hold_back_the_others(shared_pipeline: Pipeline) -> None:
    await fault(shared_pipeline, "slow", delay_s=6)
    async with shared_pipeline.webchat(timeout=30) as client:
        await post(client, "slow", "take your time")
        await asyncio.sleep(0.5)
        started = time.monotonic()
        for n in range(3):
            await post(client, f"quick{n}", "hi")
        for n in range(3):
            await until_answered(client, f"quick{n}", 1, timeout=20)
        quick_done = time.monotonic() - started
        assert await texts(client, "slow") == []  # still thinking
        assert quick_done < 5, f"quick sessions waited {quick_done:.1f}s behind the slow one"
        assert await until_answered(client, "slow", 1, timeout=30) == [echo("take your time")]


@pytest.mark.parametrize(
    "error",
    [
        "ThrottlingException",
        pytest.param("InternalServerException", marks=pytest.mark.slow),
        pytest.param("RetryableConflictException", marks=pytest.mark.slow),
        pytest.param("RuntimeClientError", marks=pytest.mark.slow),
    ],
)
async def test_retryable_agentcore_errors_are_retried_then_answered_once(
    shared_pipeline: Pipeline, error: str
) -> None:
    conversation = f"retry-{error}"
    await fault(shared_pipeline, conversation, error=error, times=2)
    async with shared_pipeline.webchat(timeout=30) as client:
        await post(client, conversation, "are you there")
        await post(client, conversation, "second")
        got = await until_answered(client, conversation, 2)
        assert await faults_left(shared_pipeline, conversation) == 0  # both failures really happened
        await asyncio.sleep(1.5)
        assert await texts(client, conversation) == [echo("are you there"), echo("second", 2)] == got


@pytest.mark.parametrize(
    ("error", "ours"),
    [
        ("ValidationException", "AgentRejected"),
        pytest.param("AccessDeniedException", "Unauthorized", marks=pytest.mark.slow),
        pytest.param("ResourceNotFoundException", "TargetGone", marks=pytest.mark.slow),
    ],
)
async def test_permanent_errors_dead_letter_with_the_reason_and_the_session_goes_on(
    shared_pipeline: Pipeline, error: str, ours: str
) -> None:
    bus = shared_pipeline.bus
    conversation = f"perm-{error}"
    await fault(shared_pipeline, conversation, error=error, times=1)
    async with shared_pipeline.webchat(timeout=30) as client:
        doomed = await post(client, conversation, "this one fails")
        await post(client, conversation, "this one works")
        # the failed turn's user reads one short error reply, in its own conversation, then the answer
        refused = notice_text(reason_class(getattr(errors, ours)("")))
        assert await until_answered(client, conversation, 2) == [refused, echo("this one works")]
        assert await faults_left(shared_pipeline, conversation) == 0
    sqs = bus.client("sqs")
    dlq = bus.queue_url(dlq_name(inbound_queue_name(bus.prefix)))

    def letter_for_this_session() -> dict[str, Any] | None:
        for m in sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
            "Messages", []
        ):
            if json.loads(m["Body"])["event_id"] == doomed:
                return m
            sqs.change_message_visibility(QueueUrl=dlq, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
        return None

    letter = wait_for(letter_for_this_session, timeout=10, what="the dead letter")
    attrs = {k: v["StringValue"] for k, v in letter["MessageAttributes"].items()}
    assert attrs["clawbus.error.type"] == ours
    assert error in attrs["clawbus.error.reason"]
    assert attrs["clawbus.attempts"] == "1"  # a permanent error is not retried
    assert attrs["clawbus.first_seen"]


async def test_kill_9_mid_turn_then_restart_answers_every_message_exactly_once(crashable: Pipeline) -> None:
    await fault(crashable, "crash", delay_s=5)
    async with crashable.webchat(timeout=30) as client:
        for n in range(3):
            await post(client, "crash", f"c{n}")
        for n in range(3):
            await post(client, f"bystander{n}", "hello")
        await asyncio.sleep(2)  # the first turn of "crash" is inside the agent now
        crashable.supervisor.kill("dispatcher")
        crashable.supervisor.start(stage("dispatcher-2", "dispatcher.started", "dispatcher"))
        assert await until_answered(client, "crash", 3, timeout=60) == [
            echo(f"c{n}", n + 1) for n in range(3)
        ]
        # a bystander's turn may have been in flight in the killed process too: it comes back when its
        # visibility lapses, which can be a little after the crashed session's
        for n in range(3):
            assert await until_answered(client, f"bystander{n}", 1, timeout=30) == [echo("hello")]
        await asyncio.sleep(2)
        assert await texts(client, "crash") == [echo(f"c{n}", n + 1) for n in range(3)]
        for n in range(3):
            assert await texts(client, f"bystander{n}") == [echo("hello")]


async def test_sigterm_mid_turn_exits_0_and_loses_nothing(crashable: Pipeline) -> None:
    await fault(crashable, "rolling", delay_s=3)
    async with crashable.webchat(timeout=30) as client:
        await post(client, "rolling", "r0")
        await post(client, "rolling", "r1")
        await asyncio.sleep(1.5)
        started = time.monotonic()
        assert crashable.supervisor.terminate("dispatcher") == 0
        assert time.monotonic() - started < 25  # within the shutdown grace
        crashable.supervisor.start(stage("dispatcher-2", "dispatcher.started", "dispatcher"))
        assert await until_answered(client, "rolling", 2, timeout=40) == [echo("r0"), echo("r1", 2)]
        await asyncio.sleep(1.5)
        assert await texts(client, "rolling") == [echo("r0"), echo("r1", 2)]


async def test_a_redelivered_message_whose_turn_was_recorded_is_not_run_again(
    shared_pipeline: Pipeline,
) -> None:
    bus = shared_pipeline.bus
    async with shared_pipeline.webchat(timeout=30) as client:
        await post(client, "ledger", "once")
        await until_answered(client, "ledger", 1)
        turns_before = agent_turns(shared_pipeline)
        # The same event again, as `clawbus dlq replay` or a crash after publishing would bring it back.
        event = InboundEvent(
            event_id=(await replies(client, "ledger"))[0]["in_reply_to"][0],
            channel="webchat",
            session_key=session_of("ledger"),
            peer=Peer(kind=PeerKind.DIRECT, id="ledger"),
            text="once",
            reply_to=ReplyTarget(chat_id="ledger"),
        )
        bus.client("sqs").send_message(
            QueueUrl=bus.queue_url(inbound_queue_name(bus.prefix)),
            MessageBody=event.to_wire(),
            MessageGroupId=session_of("ledger"),
            MessageDeduplicationId="replayed-copy",
            MessageAttributes={"clawbus.replay": {"DataType": "String", "StringValue": "m-1"}},
        )
        await post(client, "ledger", "after")
        await until_answered(client, "ledger", 2)
        await asyncio.sleep(1.5)
        assert await texts(client, "ledger") == [echo("once"), echo("after", 2)]
        assert agent_turns(shared_pipeline) == turns_before + 1  # only "after" ran


async def test_collect_mode_answers_lines_sent_during_a_turn_in_one_turn(bus: Bus, tmp_path: Path) -> None:
    env = {
        "CLAWBUS_SESSION__DM_SCOPE": "per-channel-peer",
        "CLAWBUS_DISPATCHER__QUEUE__MODE": "collect",
        "CLAWBUS_DISPATCHER__QUEUE__DEBOUNCE_MS": "1500",
    }
    running = start_pipeline(bus, tmp_path / "logs", env)
    try:
        await fault(running, "typist", delay_s=3)  # the first turn takes 3 s
        async with running.webchat(timeout=30) as client:
            await post(client, "typist", "first line")  # an idle session: its turn starts at once

            async def first_turn_running() -> bool:
                return await faults_left(running, "typist") == 0

            await eventually(first_turn_running, what="the first turn under way")
            for line in ("second line", "third line"):
                await post(client, "typist", line)
            got = await until_answered(client, "typist", 2)
            await asyncio.sleep(2.5)
            assert (
                await texts(client, "typist")
                == got
                == [
                    echo("first line"),
                    echo("second line\nthird line", 2),
                ]
            )
            assert agent_turns(running) == 2
    finally:
        assert all(code == 0 for _, code in running.stop())


@pytest.mark.slow
async def test_a_turn_longer_than_the_visibility_timeout_runs_once(crashable: Pipeline) -> None:
    await fault(crashable, "marathon", delay_s=14)  # the queue would hand it out again after 10 s
    async with crashable.webchat(timeout=30) as client:
        await post(client, "marathon", "take longer than the timeout")
        assert await until_answered(client, "marathon", 1, timeout=40) == [
            echo("take longer than the timeout")
        ]
        await asyncio.sleep(3)
        assert len(await texts(client, "marathon")) == 1
    assert agent_turns(crashable) == 1


async def test_the_dispatcher_and_egress_report_their_health_for_container_checks(
    bus: Bus, tmp_path: Path
) -> None:
    port, egress_port = free_port(), free_port()
    env = {
        **FOLLOWUP,
        "CLAWBUS_DISPATCHER__HEALTH_PORT": str(port),
        "CLAWBUS_EGRESS__HEALTH_PORT": str(egress_port),
    }
    running = start_pipeline(bus, tmp_path / "logs", env)
    try:
        async with running.webchat(timeout=30) as client:
            await post(client, "healthy", "hi")
            await until_answered(client, "healthy", 1)
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert health.status_code == 200
        report = health.json()
        assert report["healthy"] is True
        assert report["turns"] == 1
        assert report["in_flight"] == 0
        assert report["aws_requests"]["sqs"] >= 1
        # egress (WebChat's worker) and ingress count their AWS requests too (`clawbus bench` reads them)
        egress = httpx.get(f"http://127.0.0.1:{egress_port}/healthz", timeout=5).json()
        assert egress["healthy"] is True
        assert egress["handled"] >= 1  # the answer (and any typing signal)
        assert egress["aws_requests"]["dynamodb"] >= 1  # WebChat's history table
        ingress = httpx.get(f"{running.ingress_url}/healthz", timeout=5).json()
        assert ingress["aws_requests"]["sqs"] >= 1  # the enqueue
    finally:
        assert all(code == 0 for _, code in running.stop())
