"""The cron service and the firer against the loopback AWS API: records and schedules kept in step,
bad input refused with nothing half-created, fires sent once (fake clock, firer ticked by hand)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from clawbus.bus.errors import InvalidSchedule, TargetGone
from clawbus.bus.settings import AgentHeartbeat, HeartbeatSettings
from clawbus.schemas import EventKind, parse_inbound
from clawbus.storage.cron.jobs import ScheduleSpec
from tests.scheduler.conftest import Cron

EVERY_MINUTE = {"kind": "every", "everyMs": 60_000}


def _turn(message: str = "check the weather") -> dict[str, str]:
    return {"kind": "agentTurn", "message": message}


async def _nothing_exists(cron: Cron) -> bool:
    return not await cron.records.list_jobs() and not await cron.schedules.list(f"{cron.bus.prefix}-cron-")


async def test_add_creates_record_and_schedule_and_remove_deletes_both(cron: Cron) -> None:
    job = await cron.service.add(
        {
            "name": "weather",
            "schedule": {"kind": "cron", "expr": "30 7 * * *", "tz": "Europe/Berlin"},
            "payload": _turn(),
            "delivery": {"mode": "announce", "channel": "webchat", "to": "conv-1"},
        }
    )
    schedule = await cron.schedules.get(f"{cron.bus.prefix}-cron-{job.id}")
    assert schedule is not None
    assert schedule["ScheduleExpression"] == "cron(30 7 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert schedule["Target"]["SqsParameters"]["MessageGroupId"] == f"agent:main:cron:{job.id}"
    assert [j.name for j in await cron.service.list_jobs()] == ["weather"]

    assert await cron.service.remove(job.id) is True
    assert await _nothing_exists(cron)
    assert await cron.service.remove(job.id) is False  # idempotent


@pytest.mark.parametrize(
    ("job", "message"),
    [
        ({"name": "x", "schedule": {"kind": "cron", "expr": "61 * * * *"}, "payload": _turn()}, "0-59"),
        (
            {
                "name": "x",
                "schedule": {"kind": "cron", "expr": "0 9 * * *", "tz": "Nowhere/City"},
                "payload": _turn(),
            },
            "unknown time zone",
        ),
        (
            {"name": "x", "schedule": {"kind": "at", "at": "2001-01-01T00:00:00Z"}, "payload": _turn()},
            "in the past",
        ),
        ({"name": "x", "schedule": {"kind": "every", "everyMs": 1000}, "payload": _turn()}, "whole minutes"),
        (
            {
                "name": "x",
                "schedule": EVERY_MINUTE,
                "payload": {"kind": "systemEvent", "text": "t"},
                "sessionTarget": "isolated",
            },
            "does not fit a systemEvent",
        ),
    ],
)
async def test_bad_jobs_are_refused_and_nothing_is_created(
    cron: Cron, job: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidSchedule, match=message):
        await cron.service.add(job)
    assert await _nothing_exists(cron)


async def test_duplicate_name_is_refused(cron: Cron) -> None:
    first = await cron.service.add({"name": "Standup", "schedule": EVERY_MINUTE, "payload": _turn()})
    with pytest.raises(InvalidSchedule, match=f"named 'standup' already exists \\(id {first.id}\\)"):
        await cron.service.add({"name": "standup", "schedule": EVERY_MINUTE, "payload": _turn()})
    assert len(await cron.records.list_jobs()) == 1
    assert len(await cron.schedules.list(f"{cron.bus.prefix}-cron-")) == 1


async def test_update_changes_record_and_schedule(cron: Cron) -> None:
    job = await cron.service.add({"name": "n", "schedule": EVERY_MINUTE, "payload": _turn()})
    await cron.service.update(job.id, {"schedule": {"kind": "every", "everyMs": 7_200_000}})
    schedule = await cron.schedules.get(f"{cron.bus.prefix}-cron-{job.id}")
    assert schedule is not None
    assert schedule["ScheduleExpression"] == "rate(2 hours)"
    with pytest.raises(InvalidSchedule, match="whole minutes"):
        await cron.service.update(job.id, {"schedule": {"kind": "every", "everyMs": 10}})
    assert (await cron.service.get(job.id)).schedule.kind == "every"
    with pytest.raises(TargetGone, match="no cron job 'nope'"):
        await cron.service.update("nope", {})


async def test_one_shot_fires_once_then_its_schedule_is_gone(cron: Cron) -> None:
    at = (cron.clock.now + timedelta(seconds=5)).isoformat()
    job = await cron.service.add(
        {
            "name": "remind",
            "schedule": {"kind": "at", "at": at},
            "payload": {"kind": "systemEvent", "text": "tea"},
        }
    )
    firer = cron.firer()
    assert await firer.tick() == []
    cron.clock.advance(seconds=6)
    assert len(await firer.tick()) == 1
    assert await firer.tick() == []
    assert await cron.schedules.get(f"{cron.bus.prefix}-cron-{job.id}") is None
    (body,) = cron.inbound()
    event = parse_inbound(body)
    assert event.kind is EventKind.CRON
    assert event.session_key == "agent:main:main"
    assert event.text == "tea"
    assert event.job_id == job.id
    assert event.event_id.startswith(f"cron:{job.id}:20")
    # A restarted firer (the schedule would still be listed if deletion had failed) sends nothing more.
    assert await cron.firer().tick() == []
    assert cron.inbound() == []


async def test_restarted_firer_neither_doubles_nor_misses_a_fire(cron: Cron) -> None:
    await cron.service.add({"name": "tick", "schedule": EVERY_MINUTE, "payload": _turn()})
    cron.clock.catch_up()
    cron.clock.advance(seconds=61)
    assert len(await cron.firer().tick()) == 1
    assert await cron.firer().tick() == []  # restarted at the same moment: the ledger says sent
    cron.clock.advance(minutes=3)  # down for three fires: the most recent one is caught up, once
    restarted = cron.firer()
    assert len(await restarted.tick()) == 1
    assert await restarted.tick() == []
    times = [json.loads(b)["received_at"] for b in cron.inbound()]
    assert len(times) == 2
    assert times[0] < times[1]


async def test_a_claim_left_by_a_crashed_firer_is_sent_after_the_lease(cron: Cron) -> None:
    await cron.service.add({"name": "tick", "schedule": EVERY_MINUTE, "payload": _turn()})
    cron.clock.catch_up()
    cron.clock.advance(seconds=61)
    crashed = cron.firer()

    async def die(*_args: object) -> None:
        raise SystemExit("killed between claim and send")

    crashed._send = die  # type: ignore[method-assign]  # the crash window, nothing else changed
    with pytest.raises(SystemExit):
        await crashed.tick()
    assert await cron.firer().tick() == []  # within the lease: maybe still sending
    cron.clock.advance(seconds=31)
    assert len(await cron.firer().tick()) == 1
    assert len(cron.inbound()) == 1


async def test_sync_repairs_drift_both_ways(cron: Cron) -> None:
    prefix = cron.bus.prefix
    kept = await cron.service.add({"name": "kept", "schedule": EVERY_MINUTE, "payload": _turn()})
    orphan_record = await cron.service.add({"name": "lost", "schedule": EVERY_MINUTE, "payload": _turn()})
    await cron.schedules.delete(f"{prefix}-cron-{orphan_record.id}")  # record without schedule
    stray = ScheduleSpec(f"{prefix}-cron-stray", prefix, "rate(5 minutes)", "UTC", "{}", "g", "stray")
    await cron.service.ensure_schedule(stray)  # schedule without record
    report = await cron.service.sync()
    assert report.recreated_schedules == [f"{prefix}-cron-{orphan_record.id}"]
    assert report.deleted_schedules == [f"{prefix}-cron-stray"]
    names = {s.name for s in await cron.schedules.list(f"{prefix}-cron-")}
    assert names == {f"{prefix}-cron-{kept.id}", f"{prefix}-cron-{orphan_record.id}"}
    assert not (await cron.service.sync()).changed


async def test_run_now_sends_the_job_event_at_once(cron: Cron) -> None:
    job = await cron.service.add({"name": "n", "schedule": EVERY_MINUTE, "payload": _turn("now please")})
    event_id = await cron.service.run(job.id)
    (body,) = cron.inbound()
    event = parse_inbound(body)
    assert event.event_id == event_id
    assert event.text == f"[cron:{job.id} n] now please"
    assert event.session_key == f"agent:main:cron:{job.id}"


async def test_heartbeat_schedule_per_agent_and_switched_off(cron: Cron) -> None:
    settings = HeartbeatSettings(agent_ids=["main", "ops"], active_start="08:00", active_end="20:00")
    names = await cron.service.apply_heartbeats(settings)
    prefix = cron.bus.prefix
    assert names == [f"{prefix}-heartbeat-main", f"{prefix}-heartbeat-ops"]
    ops = await cron.schedules.get(f"{prefix}-heartbeat-ops")
    assert ops is not None
    assert ops["ScheduleExpression"] == "cron(0/30 8-19 * * ? *)"
    assert ops["Target"]["SqsParameters"]["MessageGroupId"] == "agent:ops:main"
    event = json.loads(ops["Target"]["Input"])
    assert (event["kind"], event["session_key"]) == ("heartbeat", "agent:ops:main")
    assert await cron.service.apply_heartbeats(settings.model_copy(update={"enabled": False})) == []
    assert await cron.schedules.list(f"{prefix}-heartbeat-") == []
    with pytest.raises(InvalidSchedule, match="whole hours"):
        await cron.service.apply_heartbeats(HeartbeatSettings(active_start="08:30"))


async def test_each_agent_with_a_heartbeat_block_gets_its_own_schedule_and_only_those(cron: Cron) -> None:
    settings = HeartbeatSettings(
        every="30m",
        agent_ids=["main"],
        agents={
            "home": AgentHeartbeat(every="1h"),
            "work": AgentHeartbeat(active_start="09:00", active_end="17:00"),
        },
    )
    prefix = cron.bus.prefix
    names = await cron.service.apply_heartbeats(settings)
    assert names == [f"{prefix}-heartbeat-home", f"{prefix}-heartbeat-work"]  # main has no block: no beat
    home = await cron.schedules.get(f"{prefix}-heartbeat-home")
    work = await cron.schedules.get(f"{prefix}-heartbeat-work")
    assert home is not None
    assert work is not None
    assert home["ScheduleExpression"] == "rate(1 hour)"
    assert work["ScheduleExpression"] == "cron(0/30 9-16 * * ? *)"  # the default every, its own hours
    assert json.loads(work["Target"]["Input"])["session_key"] == "agent:work:main"
