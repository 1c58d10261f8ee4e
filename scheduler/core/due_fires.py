"""What the local firer fires, and what it sends: the pure half of `clawbus scheduler`.

The rule, per schedule and tick: the schedule's *due fire* is its most recent fire time at or before
now (`expressions.latest_fire`, anchored at its start date or creation, so it never fires for times
before it existed). A due fire not yet in the ledger is sent. So after a restart (or any pause) a
one-shot that was missed is still sent, and a recurring schedule sends only the most recent fire it
missed, not every one: the same catch-up EventBridge Scheduler's event age limit makes sensible.

The message is the schedule's `Input` with Scheduler's context attributes substituted, to the queue in
`Target.Arn`, in the group of `SqsParameters.MessageGroupId`, without a deduplication id: exactly what
Scheduler sends. The body carries the fire time, so a repeated send of one fire is dropped by the
queue's content-based dedup within five minutes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from clawbus.bus.errors import InvalidSchedule
from clawbus.storage.cron.expressions import (
    Expression,
    latest_fire,
    parse_expression,
    scheduled_time_text,
    zone,
)


@dataclass(frozen=True)
class Definition:
    """A schedule as the firer needs it (from GetSchedule)."""

    name: str
    arn: str
    expression: Expression
    timezone: str
    input: str
    target_arn: str
    group_id: str | None
    enabled: bool
    delete_after: bool
    anchor: datetime
    end: datetime | None

    @classmethod
    def from_schedule(cls, schedule: Mapping[str, Any]) -> Definition:
        """Read GetSchedule's response; `InvalidSchedule` when its expression cannot be evaluated."""
        target = schedule.get("Target", {})
        created = _utc(schedule.get("CreationDate")) or datetime.now(UTC)
        return cls(
            name=schedule["Name"],
            arn=schedule.get("Arn", ""),
            expression=parse_expression(schedule["ScheduleExpression"]),
            timezone=schedule.get("ScheduleExpressionTimezone") or "UTC",
            input=target.get("Input", ""),
            target_arn=target.get("Arn", ""),
            group_id=target.get("SqsParameters", {}).get("MessageGroupId"),
            enabled=schedule.get("State", "ENABLED") == "ENABLED",
            delete_after=schedule.get("ActionAfterCompletion") == "DELETE",
            anchor=_utc(schedule.get("StartDate")) or created,
            end=_utc(schedule.get("EndDate")),
        )


def _utc(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return None


def due_fire(definition: Definition, now: datetime) -> datetime | None:
    """The fire time to send now, if any (see the module docstring); None for disabled schedules."""
    if not definition.enabled:
        return None
    try:
        tz = zone(definition.timezone)
    except InvalidSchedule:
        return None
    fire = latest_fire(definition.expression, tz, definition.anchor, now)
    if fire is None or (definition.end is not None and fire > definition.end):
        return None
    return fire


def execution_id(definition: Definition, fire: datetime) -> str:
    """A stable id for one fire of one schedule (Scheduler's `<aws.scheduler.execution-id>`)."""
    return hashlib.sha256(f"{definition.arn}|{scheduled_time_text(fire)}".encode()).hexdigest()[:36]


def render_input(definition: Definition, fire: datetime) -> str:
    """The message body for `fire`: `Input` with Scheduler's context attributes filled in."""
    values = {
        "<aws.scheduler.scheduled-time>": scheduled_time_text(fire),
        "<aws.scheduler.schedule-arn>": definition.arn,
        "<aws.scheduler.execution-id>": execution_id(definition, fire),
        "<aws.scheduler.attempt-number>": "1",
    }
    body = definition.input
    for placeholder, value in values.items():
        body = body.replace(placeholder, value)
    return body


def queue_name(arn: str) -> str:
    """The queue name in an SQS ARN (`arn:aws:sqs:<region>:<account>:<name>`)."""
    return arn.rsplit(":", 1)[-1]
