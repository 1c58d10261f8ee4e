"""Queue modes and the control lane (issue 21), every stage a real process on the loopback AWS API:
an idle session's message runs without debounce; messages that arrive mid-turn follow the session's
mode (set with `/queue`): `steer` puts one into the running turn (the model sees it, one answer
sequence, no second turn), `interrupt` aborts the turn for the newest; `/stop` ends a running turn at
once and `/status` answers while it runs."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from clawbus.channels.telegram.inbound import signed_headers as telegram_headers
from clawbus.ingress.webhooks import routes
from tests.conftest import Bus, Pipeline, start_pipeline
from tests.dispatcher.test_dispatcher import agent_turns, fault, faults_left, texts, until_answered
from tests.fakes.platforms import FakePlatforms
from tests.fakes.slow_model import SlowModel, slow_model
from tests.helpers import echo, eventually
from tests.ingress import payloads as p
from tests.pipeline.webchat_client import post

ROUTES = routes()
TG_SECRET = "queue-lane-telegram-secret"
PER_PEER = {"CLAWBUS_SESSION__DM_SCOPE": "per-channel-peer"}  # one session per WebChat conversation


def planned(pipeline: Pipeline) -> list[dict[str, Any]]:
    """The dispatcher's `dispatcher.run.planned` log records, in order."""
    lines = (pipeline.log_dir / "dispatcher.log").read_text().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    return [r for r in records if r.get("event") == "dispatcher.run.planned"]


@pytest.fixture
async def defaults(bus: Bus, tmp_path: Path) -> AsyncIterator[Pipeline]:
    """The pipeline with the queue's defaults (steer, 500 ms debounce), one session per conversation."""
    running = start_pipeline(bus, tmp_path / "logs", PER_PEER)
    yield running
    assert all(code == 0 for _, code in running.stop())


async def test_a_message_to_an_idle_session_runs_without_debounce(bus: Bus, tmp_path: Path) -> None:
    # A long debounce would hold an idle session's turn 5 s before issue 21; now it applies only to
    # messages that arrive while a turn of the session runs.
    running = start_pipeline(
        bus, tmp_path / "logs", {**PER_PEER, "CLAWBUS_DISPATCHER__QUEUE__DEBOUNCE_MS": "5000"}
    )
    try:
        async with running.webchat(timeout=30) as client:
            await post(client, "idle", "hello")
            assert await until_answered(client, "idle", 1) == [echo("hello")]
        plans = planned(running)
        assert [(p["debounce_ms"], p["queued"], p["turns"]) for p in plans] == [(0, 0, 1)]
    finally:
        assert all(code == 0 for _, code in running.stop())


async def _mid_turn(pipeline: Pipeline, client: httpx.AsyncClient, conversation: str, *lines: str) -> None:
    """Send `first`, and `lines` while its turn runs (the AgentCore endpoint holds it 3 s)."""
    await fault(pipeline, conversation, delay_s=3)
    await post(client, conversation, "first")
    await eventually(lambda: _taken(pipeline, conversation), what="the first turn under way")
    for line in lines:
        await post(client, conversation, line)


async def _taken(pipeline: Pipeline, conversation: str) -> bool:
    return await faults_left(pipeline, conversation) == 0


async def test_messages_that_arrive_mid_turn_follow_the_sessions_queue_mode(defaults: Pipeline) -> None:
    async with defaults.webchat(timeout=30) as client:
        for conversation, mode in (("f", "followup"), ("c", "collect"), ("i", "interrupt")):
            await post(client, conversation, f"/queue {mode}")
            await until_answered(client, conversation, 1)
        await asyncio.gather(
            *(_mid_turn(defaults, client, conv, "second", "third") for conv in ("s", "f", "c", "i"))
        )
        expected = {
            "s": [echo("first"), echo("second", 2), echo("third", 3)],  # steer after the turn: followup
            "f": [echo("first"), echo("second", 2), echo("third", 3)],
            "c": [echo("first"), echo("second\nthird", 2)],
            "i": [echo("first"), echo("third", 2)],  # the older queued message is dropped
        }
        for conversation, answers in expected.items():
            skip = 0 if conversation == "s" else 1  # the /queue command's answer
            got = await until_answered(client, conversation, skip + len(answers))
            assert got[skip:] == answers, conversation
            if skip:
                assert got[0].startswith("Queue settings for this session updated. Queue mode: "), got[0]
        await asyncio.sleep(1.5)  # a late extra turn would be answered by now; none may be
        for conversation, answers in expected.items():
            assert len(await texts(client, conversation)) == len(answers) + (conversation != "s")


@pytest.fixture
async def slow(bus: Bus, tmp_path: Path) -> AsyncIterator[tuple[Pipeline, SlowModel]]:
    """The pipeline with its agent answering through a model that sleeps when asked to."""
    async with slow_model() as model:
        running = start_pipeline(bus, tmp_path / "logs", PER_PEER, agent_env=model.agent_env())
        try:
            yield running, model
        finally:
            assert all(code == 0 for _, code in running.stop())


async def _long_turn_running(model: SlowModel, client: httpx.AsyncClient, conversation: str) -> None:
    await post(client, conversation, "think for half a minute sleep:30")
    await eventually(lambda: _asked(model, "sleep:30"), what="the 30 s model call under way")


async def _asked(model: SlowModel, text: str) -> bool:
    return any(text in call for call in model.calls)


async def test_stop_ends_a_running_turn_at_once_and_the_next_message_is_answered(
    slow: tuple[Pipeline, SlowModel],
) -> None:
    pipeline, model = slow
    async with pipeline.webchat(timeout=30) as client:
        await _long_turn_running(model, client, "boss")
        sent = time.monotonic()
        await post(client, "boss", "/stop")
        await post(client, "boss", "and now this")
        got = await until_answered(client, "boss", 2, timeout=25)
        took = time.monotonic() - sent
        assert got == ["Stopped the running turn.", "model: and now this"]
        assert took < 10, f"the next message waited {took:.1f} s behind a stopped turn"  # not 30 s
        await asyncio.sleep(1.5)  # the stopped turn's answer would land now; it never may
        assert await texts(client, "boss") == got


async def test_status_answers_while_a_turn_runs(slow: tuple[Pipeline, SlowModel]) -> None:
    pipeline, model = slow
    async with pipeline.webchat(timeout=30) as client:
        await post(client, "watcher", "/status")
        idle = (await until_answered(client, "watcher", 1))[0]
        assert "Running turn: no" in idle
        assert "Queue mode: steer (debounce 500 ms, cap 20, drop summarize; configured)" in idle
        await _long_turn_running(model, client, "watcher")
        await post(client, "watcher", "/status")
        busy = (await until_answered(client, "watcher", 2, timeout=15))[1]
        assert "Running turn: yes" in busy, busy
        assert busy.startswith("Session: agent:main:webchat:direct:watcher"), busy
        await post(client, "watcher", "/stop")  # not 30 s of teardown
        assert (await until_answered(client, "watcher", 3))[2] == "Stopped the running turn."


async def test_new_stops_the_running_turn_and_starts_the_new_session_in_order(
    slow: tuple[Pipeline, SlowModel],
) -> None:
    pipeline, model = slow
    async with pipeline.webchat(timeout=30) as client:
        await _long_turn_running(model, client, "fresh")
        sent = time.monotonic()
        await post(client, "fresh", "/new")
        got = await until_answered(client, "fresh", 1, timeout=25)
        assert time.monotonic() - sent < 10  # not behind the 30 s turn
        assert len(got) == 1
        assert got[0].startswith("model: "), got  # the new session's greeting turn, not the stopped one
        assert "sleep:30" not in got[0]
        await asyncio.sleep(1.5)  # the stopped turn's answer would land now; it never may
        assert await texts(client, "fresh") == got


def agent_controls(pipeline: Pipeline) -> list[dict[str, Any]]:
    """The agent's `agent.control.handled` log records, in order."""
    lines = (pipeline.log_dir / "agent.log").read_text().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    return [r for r in records if r.get("event") == "agent.control.handled"]


async def _held_turn_running(model: SlowModel, client: Any, conversation: str, name: str) -> None:
    await post(client, conversation, f"first hold:{name}")
    await eventually(lambda: asyncio.sleep(0, any(f"hold:{name}" in c for c in model.calls)), what="held")


async def test_a_message_sent_mid_turn_goes_into_the_running_turn(slow: tuple[Pipeline, SlowModel]) -> None:
    pipeline, model = slow
    async with pipeline.webchat(timeout=30) as client:
        await _held_turn_running(model, client, "steered", "a")
        await post(client, "steered", "second")
        await eventually(
            lambda: asyncio.sleep(0, [c for c in agent_controls(pipeline) if c.get("steered")]),
            what="the running turn taking the message",
        )
        model.release("a")
        got = await until_answered(client, "steered", 2)
        assert got == ["model: first hold:a", "model: second"]  # in order, each input answered
        assert "second" in model.calls  # the model saw it, in the same turn
        await asyncio.sleep(1.5)  # a second turn for "second" would be answered by now; none may be
        assert await texts(client, "steered") == got
        assert agent_turns(pipeline) == 1


async def test_interrupt_aborts_the_running_turn_and_answers_the_newest(
    slow: tuple[Pipeline, SlowModel],
) -> None:
    pipeline, model = slow
    async with pipeline.webchat(timeout=30) as client:
        await post(client, "cut", "/queue interrupt")
        await until_answered(client, "cut", 1)
        await _held_turn_running(model, client, "cut", "b")
        await post(client, "cut", "never mind, this instead")
        got = await until_answered(client, "cut", 2)
        assert got[1] == "model: never mind, this instead"
        model.release("b")  # the aborted call's server side ends; its answer must never land
        await asyncio.sleep(1.5)
        assert await texts(client, "cut") == got
        assert [c["stop_requested"] for c in agent_controls(pipeline)] == [True]


async def test_a_strangers_message_in_a_group_waits_for_the_running_turn(bus: Bus, tmp_path: Path) -> None:
    # Everyone in a group is admitted alike; only the running turn's own sender may steer it, so a
    # stranger's message there is a turn of its own after it (followup), never a borrower of its turn.
    owner, stranger, chat = 4242, 9191, -100123
    async with slow_model() as model:
        with FakePlatforms() as fake:
            env = {
                **PER_PEER,
                "CLAWBUS_TELEGRAM__BOT_TOKEN": p.BOT_TOKEN,
                "CLAWBUS_TELEGRAM__WEBHOOK_SECRET": TG_SECRET,
                "CLAWBUS_TELEGRAM__BOT_USERNAME": p.BOT_USERNAME,
                "CLAWBUS_TELEGRAM__ALLOW_FROM": json.dumps([f"tg:{owner}"]),
                "CLAWBUS_TELEGRAM__GROUP_POLICY": "open",
                "CLAWBUS_TELEGRAM__REQUIRE_MENTION": "false",
                "CLAWBUS_TELEGRAM__API_BASE": fake.api_base("telegram"),
            }
            running = start_pipeline(
                bus, tmp_path / "logs", env, channels=("telegram",), agent_env=model.agent_env()
            )
            try:
                async with httpx.AsyncClient(base_url=running.ingress_url, timeout=15) as client:

                    async def say(user: int, text: str) -> None:
                        body = p.telegram_message(user_id=user, chat_id=chat, chat_type="group", text=text)
                        headers = telegram_headers(TG_SECRET)
                        response = await client.post(
                            ROUTES["telegram"], content=json.dumps(body), headers=headers
                        )
                        assert response.status_code == 200

                    await say(owner, "first hold:g")
                    await eventually(lambda: _asked(model, "hold:g"), what="the owner's turn under way")
                    await say(stranger, "me too")
                    await eventually(
                        lambda: asyncio.sleep(
                            0, [c for c in agent_controls(running) if c.get("steered") is False]
                        ),
                        what="the running turn refusing the stranger's message",
                    )
                    model.release("g")

                    async def answered() -> list[str] | None:
                        shown = [
                            c.text for c in fake.sent("telegram") if str(c.body.get("chat_id")) == str(chat)
                        ]
                        return shown if any(t.endswith("model: me too") for t in shown) else None

                    shown = await eventually(answered, timeout=40, what="the stranger's own turn")
                    assert [t for t in shown if t.startswith("model: ")] == [
                        "model: first hold:g",
                        "model: me too",
                    ]
                    assert agent_turns(running) == 2
                    assert not any(c.get("steered") for c in agent_controls(running))
            finally:
                assert all(code == 0 for _, code in running.stop())
