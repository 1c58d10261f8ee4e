"""Heartbeat and cron end to end: every stage a real process, the local firer (`clawbus scheduler`)
firing schedules from the loopback Scheduler API, replies arriving in WebChat."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from clawbus.bus.clients import CronClients, open_stage_clients
from clawbus.bus.logging import session_ref
from clawbus.bus.settings import Settings
from clawbus.storage.cron.service import connect
from tests.conftest import Bus, Pipeline
from tests.helpers import eventually, stage, wait_for
from tests.ops.ops_cli import clawbus
from tests.pipeline.webchat_client import post, replies


def _settings(bus: Bus, **extra: object) -> Settings:
    return Settings.model_validate(
        {"aws": {"endpoint_url": bus.endpoint, "region": "us-east-1"}, "bus": {"prefix": bus.prefix}, **extra}
    )


def _start_firer(pipeline: Pipeline, offset_s: float = 0) -> None:
    env = {"CLAWBUS_SCHEDULER__TEST_CLOCK_OFFSET_S": str(offset_s), "CLAWBUS_SCHEDULER__TICK_S": "0.5"}
    pipeline.supervisor.start(stage("scheduler", "scheduler.started", "scheduler", env=env))


def _log_events(log: Path, event: str) -> list[dict[str, object]]:
    if not log.exists():
        return []
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == event]


async def test_heartbeat_runs_on_the_main_session_and_an_ack_is_not_delivered(pipeline: Pipeline) -> None:
    settings = _settings(pipeline.bus, heartbeat={"every": "1m"})
    async with open_stage_clients(settings, CronClients) as clients:
        names = await (await connect(settings, clients)).apply_heartbeats(settings.heartbeat)
    assert names == [f"{pipeline.bus.prefix}-heartbeat-main"]
    conversation = f"hb-{uuid.uuid4().hex[:8]}"
    async with pipeline.webchat(timeout=30) as web:
        await post(web, conversation, "hello")
        await eventually(lambda: replies(web, conversation, wait=5), timeout=30, what="the first reply")
        _start_firer(pipeline, offset_s=61)  # one rate(1 minute) period has passed for the firer

        def heartbeat_turns() -> list[dict[str, object]]:
            turns = _log_events(pipeline.log_dir / "dispatcher.log", "dispatcher.turn.completed")
            return [t for t in turns if t.get("kind") == "heartbeat"]

        heartbeat = wait_for(heartbeat_turns, timeout=40, what="the heartbeat's turn")
        await asyncio.sleep(2)
        # The offline model acknowledges a heartbeat poll with HEARTBEAT_OK, which is never delivered:
        # the user's chat holds only the answer to "hello".
        assert len(await replies(web, conversation)) == 1
    assert len(heartbeat) == 1
    assert heartbeat[0]["session"] == session_ref("agent:main:main")
    assert heartbeat[0]["parts"] == 0


async def test_agent_created_one_shot_fires_once_runs_the_turn_and_delivers(
    cron_pipeline: Pipeline,
) -> None:
    pipeline = cron_pipeline
    _start_firer(pipeline)
    conversation = f"cron-{uuid.uuid4().hex[:8]}"
    at = (datetime.now(UTC) + timedelta(seconds=4)).isoformat()
    job = {
        "name": "stretch",
        "schedule": {"kind": "at", "at": at},
        "payload": {"kind": "agentTurn", "message": "stand up"},
    }
    async with pipeline.webchat(timeout=30) as web:
        await post(web, conversation, "/cron " + json.dumps({"action": "add", "job": job}))
        first = await eventually(
            lambda: replies(web, conversation, wait=5), timeout=30, what="the tool's answer"
        )
        result = json.loads(str(first[0]["text"]))
        assert result["ok"] is True, result
        job_id = result["job"]["id"]

        async def delivered() -> list[dict[str, object]] | None:
            got = await replies(web, conversation, wait=5)
            return got if len(got) >= 2 else None

        got = await eventually(delivered, timeout=40, what="the cron turn's answer")
    assert f"[cron:{job_id} stretch] stand up" in str(got[1]["text"])
    scheduler = pipeline.bus.client("scheduler")
    assert not [
        s for s in scheduler.list_schedules(GroupName=pipeline.bus.prefix)["Schedules"] if job_id in s["Name"]
    ]
    data_dir = pipeline.log_dir.parent
    runs = wait_for(
        lambda: clawbus(pipeline.bus, data_dir, "cron", "runs", job_id, "--json").json(),
        timeout=15,
        what="a run",
    )
    assert [r["deliveryStatus"] for r in runs] == ["delivered"]
    listed = wait_for(
        lambda: clawbus(pipeline.bus, data_dir, "cron", "list", "--all", "--json").json() == [] or None,
        timeout=15,
        what="the finished one-shot's record to go",
    )
    assert listed
    assert len(_log_events(pipeline.log_dir / "scheduler.log", "scheduler.schedule.fired")) == 1


def test_cli_bad_input_remove_and_sync(bus: Bus, tmp_path: Path) -> None:
    bad = clawbus(
        bus,
        tmp_path,
        "cron",
        "add",
        "--name",
        "x",
        "--cron",
        "0 9 * * *",
        "--tz",
        "Moon/Base",
        "--message",
        "m",
    )
    assert bad.code == 1
    assert "unknown time zone 'Moon/Base'" in bad.err
    past = clawbus(
        bus, tmp_path, "cron", "add", "--name", "x", "--at", "2001-01-01T00:00:00", "--message", "m"
    )
    assert past.code == 1
    assert "is in the past" in past.err
    added = clawbus(
        bus,
        tmp_path,
        "cron",
        "add",
        "--name",
        "daily",
        "--cron",
        "0 9 * * 1-5",
        "--tz",
        "Europe/Berlin",
        "--system-event",
        "standup",
        "--json",
    )
    assert added.code == 0, added.err
    job_id = added.json()["id"]
    dup = clawbus(bus, tmp_path, "cron", "add", "--name", "daily", "--every", "5m", "--message", "m")
    assert dup.code == 1
    assert "already exists" in dup.err
    scheduler = bus.client("scheduler")
    scheduler.delete_schedule(Name=f"{bus.prefix}-cron-{job_id}", GroupName=bus.prefix)  # drift
    synced = clawbus(bus, tmp_path, "cron", "sync", "--json")
    assert synced.json()["recreated_schedules"] == [f"{bus.prefix}-cron-{job_id}"]
    removed = clawbus(bus, tmp_path, "cron", "remove", job_id, "--json")
    assert removed.json() == {"job_id": job_id, "removed": True}
    assert clawbus(bus, tmp_path, "cron", "list", "--all", "--json").json() == []
    names = [s["Name"] for s in scheduler.list_schedules(GroupName=bus.prefix)["Schedules"]]
    assert names == [f"{bus.prefix}-heartbeat-main"]  # sync also applied the heartbeat setting


def test_restarted_firer_process_neither_misses_nor_doubles(bus: Bus, tmp_path: Path) -> None:
    added = clawbus(
        bus, tmp_path, "cron", "add", "--name", "tick", "--every", "1m", "--system-event", "t", "--json"
    )
    assert added.code == 0, added.err
    from clawbus.local.supervisor import Supervisor

    supervisor = Supervisor(tmp_path / "logs", {**bus.env, "CLAWBUS_SCHEDULER__TICK_S": "0.5"})
    log = tmp_path / "logs" / "scheduler.log"

    def firer(offset_s: int) -> None:
        env = {"CLAWBUS_SCHEDULER__TEST_CLOCK_OFFSET_S": str(offset_s)}
        supervisor.start(stage("scheduler", "scheduler.started", "scheduler", env=env))

    try:
        firer(61)  # first period passed: it fires once during its first pass
        assert len(_log_events(log, "scheduler.schedule.fired")) == 1
        assert supervisor.terminate("scheduler") == 0
        firer(65)  # restarted within the same period: the ledger says it was sent
        assert len(_log_events(log, "scheduler.schedule.fired")) == 1
        supervisor.kill("scheduler")
        firer(61 + 180)  # down for three periods: the most recent one is caught up, once
        fired = _log_events(log, "scheduler.schedule.fired")
        assert len(fired) == 2
        assert fired[0]["fire_time"] != fired[1]["fire_time"]
    finally:
        codes = supervisor.stop_all()
    assert all(code == 0 for _, code in codes), codes
    sqs = bus.client("sqs")
    url = bus.queue_url(f"{bus.prefix}-inbound.fifo")
    bodies = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len({m["Body"] for m in bodies}) == 2


def test_status_reports_a_schedule_whose_target_queue_is_gone(bus: Bus, tmp_path: Path) -> None:
    scheduler = bus.client("scheduler")
    scheduler.create_schedule(
        Name=f"{bus.prefix}-cron-orphan",
        GroupName=bus.prefix,
        ScheduleExpression="rate(5 minutes)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": f"arn:aws:sqs:us-east-1:123456789012:{bus.prefix}-deleted.fifo",
            "RoleArn": "arn:aws:iam::123456789012:role/x",
        },
    )
    status = clawbus(bus, tmp_path, "status", "--json")
    assert status.code == 1
    assert status.json()["schedules_with_missing_target"] == [
        {"schedule": f"{bus.prefix}-cron-orphan", "queue": f"{bus.prefix}-deleted.fifo"}
    ]
