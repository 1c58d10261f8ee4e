"""From a cron job (or the heartbeat) to the EventBridge Scheduler schedule that fires it. Pure.

A schedule's target is the inbound FIFO queue; its `Input` is the inbound event the job produces, with
Scheduler's `<aws.scheduler.scheduled-time>` placeholder in the event id and received time, so every
firing is a distinct event and a repeated send of the same firing is the same body (content-based dedup
on the inbound queue drops it within SQS's five minutes; the turn ledger covers the rest).

OpenClaw's schedule kinds map onto Scheduler's expressions: `at` → `at(...)` in UTC, `every` → `rate(...)`
(whole minutes, at least one), `cron` → `cron(...)` with its time zone (5-field expressions are
translated: day-of-week counts from 1 = Sunday, and one of the day fields becomes `?`). What cannot be
expressed is refused with `InvalidSchedule` before anything is created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from clawbus.bus.errors import InvalidSchedule
from clawbus.schemas import (
    EventKind,
    Handoff,
    InboundEvent,
    cron_session_key,
    main_session_key,
    message_group_id,
)
from clawbus.schemas.cron import AgentTurnPayload, AtSchedule, CronJob, EverySchedule, JobSchedule
from clawbus.storage.cron.expressions import parse_expression, zone

SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
_SENTINEL = datetime(2000, 1, 1, tzinfo=UTC)
_SENTINEL_TEXT = '"2000-01-01T00:00:00Z"'
_NAME = re.compile(r"^[0-9a-zA-Z_.-]{1,64}$")
_CRONER_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}


@dataclass(frozen=True)
class ScheduleSpec:
    """Everything a schedule is made of, except the ARNs only the shell knows."""

    name: str
    group: str
    expression: str
    timezone: str
    input: str
    group_id: str
    description: str
    enabled: bool = True

    @property
    def one_shot(self) -> bool:
        """`at()` schedules delete themselves after firing (ActionAfterCompletion DELETE)."""
        return self.expression.startswith("at(")


def check_name(name: str, what: str = "schedule name") -> str:
    """`name` if Scheduler accepts it (1-64 of `[0-9a-zA-Z-_.]`), else `InvalidSchedule`."""
    if not _NAME.match(name):
        raise InvalidSchedule(f"{what} {name!r} must be 1-64 characters of letters, digits, '-', '_', '.'")
    return name


def cron_schedule_name(prefix: str, job_id: str) -> str:
    """`<prefix>-cron-<jobId>`: the schedule of a cron job."""
    return check_name(f"{prefix}-cron-{job_id}")


def heartbeat_schedule_name(prefix: str, agent_id: str) -> str:
    """`<prefix>-heartbeat-<agentId>`, as the Terraform names it."""
    return check_name(f"{prefix}-heartbeat-{agent_id}")


def _rate(minutes: int) -> str:
    for unit, size in (("day", 1440), ("hour", 60), ("minute", 1)):
        if minutes % size == 0:
            value = minutes // size
            return f"rate({value} {unit}{'' if value == 1 else 's'})"
    raise AssertionError("unreachable: every minute count divides by 1")


def _croner_weekdays(text: str) -> str:
    days: set[int] = set()
    for part in text.split(","):
        if "/" in part or "#" in part or part.upper().endswith("L"):
            raise InvalidSchedule(f"day-of-week {text!r}: steps, '#' and 'L' cannot be translated; list days")
        first, _, last = part.partition("-")
        try:
            start = _CRONER_DAYS.get(first.upper())
            start = int(first) if start is None else start
            end_named = _CRONER_DAYS.get(last.upper()) if last else start
            end = int(last) if end_named is None else end_named
        except ValueError:
            raise InvalidSchedule(f"day-of-week {text!r}: cannot read {part!r}") from None
        if not (0 <= start <= 7 and 0 <= end <= 7) or start > end:
            raise InvalidSchedule(f"day-of-week {text!r}: days are 0-7 (0 and 7 are Sunday)")
        days.update(day % 7 + 1 for day in range(start, end + 1))  # Scheduler: 1 = Sunday
    return ",".join(str(day) for day in sorted(days))


def translate_cron(expr: str) -> str:
    """A cron expression as OpenClaw writes it (5 fields, or 6 with seconds) in Scheduler's syntax."""
    if expr.strip().startswith("cron("):
        parse_expression(expr.strip())
        return expr.strip()
    fields = expr.split()
    if len(fields) == 6:
        if fields[0] != "0":
            raise InvalidSchedule(f"cron {expr!r}: Scheduler fires on whole minutes; the seconds must be 0")
        fields = fields[1:]
    if len(fields) != 5:
        raise InvalidSchedule(
            f"cron {expr!r}: expected 5 fields (minute hour day-of-month month day-of-week)"
        )
    minute, hour, dom, month, dow = fields
    any_dom, any_dow = dom in ("*", "?"), dow in ("*", "?")
    if not any_dom and not any_dow:
        raise InvalidSchedule(
            f"cron {expr!r}: fires when EITHER the day of month or the weekday matches, which Scheduler "
            "cannot express; split it into two jobs"
        )
    if any_dow:
        aws = f"cron({minute} {hour} {'*' if any_dom else dom} {month} ? *)"
    else:
        aws = f"cron({minute} {hour} ? {month} {_croner_weekdays(dow)} *)"
    parse_expression(aws)
    return aws


def scheduler_expression(schedule: JobSchedule, now: datetime) -> tuple[str, str]:
    """(ScheduleExpression, ScheduleExpressionTimezone) for an OpenClaw schedule, checked."""
    if isinstance(schedule, AtSchedule):
        at = schedule.at if schedule.at.tzinfo else schedule.at.replace(tzinfo=UTC)
        at = at.astimezone(UTC).replace(microsecond=0)
        if at <= now:
            raise InvalidSchedule(
                f"at {at.isoformat()} is in the past (now {now.isoformat(timespec='seconds')})"
            )
        return f"at({at.strftime('%Y-%m-%dT%H:%M:%S')})", "UTC"
    if isinstance(schedule, EverySchedule):
        if schedule.every_ms < 60_000 or schedule.every_ms % 60_000:
            raise InvalidSchedule(
                f"every {schedule.every_ms} ms cannot be expressed: Scheduler's rate() takes whole minutes, "
                "at least 1 (60000 ms)"
            )
        return _rate(schedule.every_ms // 60_000), "UTC"
    tz = schedule.tz or "UTC"
    zone(tz)
    return translate_cron(schedule.expr), tz


def _with_placeholder(event: InboundEvent) -> str:
    return event.to_wire().replace(_SENTINEL_TEXT, f'"{SCHEDULED_TIME}"')


def job_event(job: CronJob, scheduled_time: str = SCHEDULED_TIME) -> InboundEvent:
    """The inbound event a firing of `job` produces (the placeholder substituted by whoever sends it)."""
    isolated = isinstance(job.payload, AgentTurnPayload)
    if isinstance(job.payload, AgentTurnPayload):
        text = f"[cron:{job.id} {job.name}] {job.payload.message}"
    else:
        text = job.payload.text
    delivery = None
    if job.delivery is not None:
        channel = None if job.delivery.channel in (None, "last") else job.delivery.channel
        delivery = Handoff(
            mode=job.delivery.mode,
            channel=channel,
            to=job.delivery.to,
            account_id=job.delivery.account_id,
            thread_id=job.delivery.thread_id,
        )
    return InboundEvent(
        event_id=f"cron:{job.id}:{scheduled_time}",
        kind=EventKind.CRON,
        channel="cron",
        agent_id=job.agent_id,
        session_key=cron_session_key(job.agent_id, job.id) if isolated else main_session_key(job.agent_id),
        text=text,
        received_at=_SENTINEL,
        job_id=job.id,
        delivery=delivery,
    )


def job_input(job: CronJob) -> str:
    """The schedule's `Input`: the job's event with Scheduler's scheduled-time placeholder."""
    return _with_placeholder(job_event(job))


def job_schedule(job: CronJob, prefix: str, now: datetime) -> ScheduleSpec:
    """The schedule of `job` (checked: name, expression, time zone; a past `at` is refused)."""
    expression, tz = scheduler_expression(job.schedule, now)
    event = job_event(job)
    return ScheduleSpec(
        name=cron_schedule_name(prefix, job.id),
        group=prefix,
        expression=expression,
        timezone=tz,
        input=job_input(job),
        group_id=message_group_id(event.session_key),
        description=f"cron job {job.id} of agent {job.agent_id}"[:512],
        enabled=job.enabled,
    )


def heartbeat_event(agent_id: str) -> InboundEvent:
    """The heartbeat event of an agent's main session (the same body the Terraform schedule sends).

    It names no delivery: the dispatcher resolves the agent's heartbeat `target` when the turn runs
    (dispatcher/core/heartbeat_target.py), so a changed target needs no new schedule.
    """
    return InboundEvent(
        event_id=f"heartbeat:{agent_id}:{SCHEDULED_TIME}",
        kind=EventKind.HEARTBEAT,
        channel="heartbeat",
        agent_id=agent_id,
        session_key=main_session_key(agent_id),
        received_at=_SENTINEL,
    )


_DURATION = re.compile(r"^(\d+)(ms|s|m|h)?$")


def parse_every(text: str) -> int:
    """OpenClaw's heartbeat `every` (`30m`, `1h`, `90s`, a bare number = minutes) in minutes; 0 = off."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise InvalidSchedule(f"heartbeat every {text!r}: use a duration such as 30m, 1h (0m turns it off)")
    value, unit = int(match.group(1)), match.group(2) or "m"
    ms = value * {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}[unit]
    if ms % 60_000:
        raise InvalidSchedule(f"heartbeat every {text!r}: Scheduler fires on whole minutes")
    return ms // 60_000


def _hour(text: str, *, end: bool) -> int:
    match = re.match(r"^(\d{2}):00$", text)
    hour = int(match.group(1)) if match else -1
    if not (0 <= hour <= (24 if end else 23)):
        raise InvalidSchedule(f"heartbeat active hours {text!r}: use whole hours HH:00 (end may be 24:00)")
    return hour


def heartbeat_expression(every_minutes: int, start: str | None, end: str | None) -> str:
    """The heartbeat's expression: `rate(...)`, or a `cron(...)` limited to the active hours."""
    if start is None and end is None:
        return _rate(every_minutes)
    first, stop = _hour(start or "00:00", end=False), _hour(end or "24:00", end=True)
    hours = f"{first}-{stop - 1}" if first < stop else f"{first}-23,0-{stop - 1}" if stop else f"{first}-23"
    if every_minutes < 60 and 60 % every_minutes == 0:
        expression = f"cron(0/{every_minutes} {hours} * * ? *)"
    elif every_minutes % 60 == 0 and first < stop:
        expression = f"cron(0 {first}-{stop - 1}/{every_minutes // 60} * * ? *)"
    else:
        raise InvalidSchedule(
            f"a heartbeat every {every_minutes} minutes within active hours cannot be expressed in cron(): "
            "use a divisor of 60 minutes, or whole hours"
        )
    parse_expression(expression)
    return expression


def heartbeat_schedule(
    prefix: str,
    agent_id: str,
    every: str,
    tz: str,
    start: str | None = None,
    end: str | None = None,
) -> ScheduleSpec | None:
    """The heartbeat schedule of one agent, or None when `every` is 0 (heartbeats off)."""
    minutes = parse_every(every)
    if minutes == 0:
        return None
    zone(tz)
    event = heartbeat_event(agent_id)
    return ScheduleSpec(
        name=heartbeat_schedule_name(prefix, agent_id),
        group=prefix,
        expression=heartbeat_expression(minutes, start, end),
        timezone=tz,
        input=_with_placeholder(event),
        group_id=message_group_id(event.session_key),
        description=f"heartbeat of agent {agent_id} into {event.session_key}",
    )
