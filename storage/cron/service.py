"""The cron service: OpenClaw's cron operations on DynamoDB records plus EventBridge Scheduler schedules.

`add`, `list_jobs`, `update`, `remove`, `run` (now) and `runs` (history) are what the agent's `cron`
tool and `clawbus cron` call; `sync` repairs drift between the table and Scheduler. Every operation
checks its input before it writes anything, so a refused job leaves neither a record nor a schedule:

- add: validate the job and its schedule (name, expression, zone, past `at`, duplicate name), write
  the record (conditional: a new id), create the schedule; if the schedule cannot be created, the
  record is deleted again before the error is raised.
- remove: delete the schedule, then the record; both deletes are idempotent.
- sync: a schedule without a record is deleted; a record without a schedule gets it back (a one-shot
  whose time has passed is finished instead: its record is removed); a schedule that differs from its
  record is updated.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from clawbus.bus.aws import is_loopback, map_aws_errors
from clawbus.bus.clients import CronClients
from clawbus.bus.clock import Clock, utc_now
from clawbus.bus.errors import ConfigError, InvalidSchedule
from clawbus.bus.queues import resolve_queue_url
from clawbus.bus.settings import HeartbeatSettings, Settings
from clawbus.bus.topology import cron_table_name, inbound_queue_name, schedule_group_name
from clawbus.schemas import deduplication_id, message_group_id
from clawbus.schemas.cron import CronJob, CronRun
from clawbus.storage.cron.jobs import (
    ScheduleSpec,
    heartbeat_schedule,
    heartbeat_schedule_name,
    job_event,
    job_schedule,
)
from clawbus.storage.cron.records import CronRecords
from clawbus.storage.cron.schedules import Schedules, ScheduleTarget

if TYPE_CHECKING:
    from types_aiobotocore_sqs import SQSClient


@dataclass
class SyncReport:
    """What `sync` changed (schedule or job names)."""

    deleted_schedules: list[str] = field(default_factory=list)
    recreated_schedules: list[str] = field(default_factory=list)
    updated_schedules: list[str] = field(default_factory=list)
    finished_jobs: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether anything drifted."""
        return any(
            (self.deleted_schedules, self.recreated_schedules, self.updated_schedules, self.finished_jobs)
        )


def _invalid(exc: ValidationError) -> InvalidSchedule:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "job"
    return InvalidSchedule(f"invalid cron job: {where}: {first['msg']}")


def new_job_id() -> str:
    """A fresh job id (short, lowercase, valid in a schedule name and a session key)."""
    return secrets.token_hex(8)


def _differs(spec: ScheduleSpec, current: Mapping[str, Any]) -> bool:
    target = current.get("Target", {})
    return (
        current.get("ScheduleExpression") != spec.expression
        or current.get("ScheduleExpressionTimezone", "UTC") != spec.timezone
        or target.get("Input") != spec.input
        or target.get("SqsParameters", {}).get("MessageGroupId") != spec.group_id
        or current.get("State", "ENABLED") != ("ENABLED" if spec.enabled else "DISABLED")
    )


class CronService:
    """Cron jobs of one deployment (`prefix`): records in the cron table, schedules in its group."""

    def __init__(
        self,
        records: CronRecords,
        schedules: Schedules,
        sqs: SQSClient,
        *,
        prefix: str,
        target: ScheduleTarget,
        inbound_url: str,
        clock: Clock = utc_now,
    ) -> None:
        self._records = records
        self._schedules = schedules
        self._sqs = sqs
        self._prefix = prefix
        self._target = target
        self._inbound_url = inbound_url
        self._clock = clock

    def _job(self, data: Mapping[str, Any]) -> CronJob:
        try:
            return CronJob.model_validate(dict(data))
        except ValidationError as exc:
            raise _invalid(exc) from exc

    async def add(self, job: Mapping[str, Any], *, agent_id: str = "main") -> CronJob:
        """Create a job from OpenClaw's job fields (`name`, `schedule`, `payload`, ...); returns it.

        Raises:
            InvalidSchedule: the job or its schedule cannot be created (nothing was written).
        """
        now = self._clock()
        data = {"agentId": agent_id, **job, "id": new_job_id(), "createdAt": now, "updatedAt": now}
        if "sessionTarget" not in data and isinstance(data.get("payload"), Mapping):
            data["sessionTarget"] = "main" if data["payload"].get("kind") == "systemEvent" else "isolated"
        created = self._job(data)
        spec = job_schedule(created, self._prefix, now)
        for other in await self._records.list_jobs():
            if other.agent_id == created.agent_id and other.name.casefold() == created.name.casefold():
                raise InvalidSchedule(f"a cron job named {created.name!r} already exists (id {other.id})")
        await self._create(created, spec)
        return created

    async def _create(self, job: CronJob, spec: ScheduleSpec) -> None:
        """Write a new job's record, then its schedule; the record goes again if the schedule fails."""
        await self._records.put_job(job, new=True)
        try:
            await self._schedules.ensure(spec, self._target)
        except BaseException:
            await self._records.delete_job(job.id)
            raise

    async def restore(self, job: CronJob) -> None:
        """Put back a job as it was exported (its id and times kept), with its schedule.

        Raises:
            InvalidSchedule: the id is taken, or the schedule cannot be created (a past `at`).
        """
        await self._create(job, job_schedule(job, self._prefix, self._clock()))

    async def restore_runs(self, runs: Sequence[CronRun]) -> int:
        """Add exported runs to their jobs' histories (the same run twice is one record); how many."""
        now = int(self._clock().timestamp())
        for run in runs:
            await self._records.append_run(run, now)
        return len(runs)

    async def list_jobs(
        self, *, agent_id: str | None = None, include_disabled: bool = False
    ) -> list[CronJob]:
        """The jobs (of one agent, when given), enabled ones only unless `include_disabled`."""
        return [
            job
            for job in await self._records.list_jobs()
            if (agent_id is None or job.agent_id == agent_id) and (include_disabled or job.enabled)
        ]

    async def get(self, job_id: str) -> CronJob:
        """One job; `TargetGone` when there is none."""
        return await self._records.require_job(job_id)

    async def update(self, job_id: str, patch: Mapping[str, Any]) -> CronJob:
        """Apply `patch` (OpenClaw's field names) to a job and its schedule; the id cannot change."""
        old = await self._records.require_job(job_id)
        now = self._clock()
        data = {**old.model_dump(by_alias=True), **patch, "id": old.id, "updatedAt": now}
        updated = self._job(data)
        spec = job_schedule(updated, self._prefix, now)
        await self._records.put_job(updated, new=False)
        try:
            await self._schedules.ensure(spec, self._target)
        except BaseException:
            await self._records.put_job(old, new=False)
            raise
        return updated

    async def remove(self, job_id: str) -> bool:
        """Delete the job's schedule and record; False when neither existed (safe to repeat)."""
        had_schedule = await self._schedules.delete(f"{self._prefix}-cron-{job_id}")
        had_record = await self._records.get_job(job_id) is not None
        await self._records.delete_job(job_id)
        return had_schedule or had_record

    async def run(self, job_id: str) -> str:
        """Fire the job now (OpenClaw's `run`, mode force): its event goes on the inbound queue.

        Returns the event id. The job's schedule is untouched.
        """
        job = await self._records.require_job(job_id)
        now = self._clock()
        event = job_event(job, scheduled_time=f"run-{now.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}")
        event = event.model_copy(update={"received_at": now})
        with map_aws_errors(f"SendMessage {self._inbound_url}"):
            await self._sqs.send_message(
                QueueUrl=self._inbound_url,
                MessageBody=event.to_wire(),
                MessageGroupId=message_group_id(event.session_key),
                MessageDeduplicationId=deduplication_id(event.event_id),
            )
        return str(event.event_id)

    async def runs(self, job_id: str, limit: int = 50) -> list[CronRun]:
        """The job's run history, newest first."""
        return await self._records.list_runs(job_id, limit)

    async def apply_heartbeats(self, settings: HeartbeatSettings) -> list[str]:
        """Create, update or (when switched off) delete each agent's heartbeat schedule, each from its own
        settings (`HeartbeatSettings.per_agent`); their names. Where a heartbeat's answer goes is not in
        the schedule: the dispatcher resolves its `target` (dispatcher/core/heartbeat_target.py).

        Raises:
            InvalidSchedule: the heartbeat settings cannot be expressed (nothing was changed).
        """
        specs = {
            agent: heartbeat_schedule(
                self._prefix,
                agent,
                own.every if own.enabled else "0m",
                own.timezone,
                own.active_start,
                own.active_end,
            )
            for agent, own in settings.per_agent().items()
        }
        active = []
        for agent, spec in specs.items():
            if spec is None:
                await self._schedules.delete(heartbeat_schedule_name(self._prefix, agent))
            else:
                await self._schedules.ensure(spec, self._target)
                active.append(spec.name)
        return active

    async def ensure_schedule(self, spec: ScheduleSpec) -> None:
        """Create or update a schedule that is not a cron job (the heartbeat)."""
        await self._schedules.ensure(spec, self._target)

    async def sync(self) -> SyncReport:
        """Reconcile the job records and the schedules (see the module docstring)."""
        report = SyncReport()
        name_prefix = f"{self._prefix}-cron-"
        jobs = {f"{name_prefix}{job.id}": job for job in await self._records.list_jobs()}
        schedules = {s.name for s in await self._schedules.list(name_prefix)}
        for name in sorted(schedules - set(jobs)):
            await self._schedules.delete(name)
            report.deleted_schedules.append(name)
        now = self._clock()
        for name, job in jobs.items():
            try:
                spec = job_schedule(job, self._prefix, now)
            except InvalidSchedule:
                if not job.one_shot:
                    raise
                await self._schedules.delete(name)  # a one-shot whose time has passed is done
                await self._records.delete_job(job.id)
                report.finished_jobs.append(job.id)
                continue
            current = await self._schedules.get(name) if name in schedules else None
            if current is None:
                await self._schedules.ensure(spec, self._target)
                report.recreated_schedules.append(name)
            elif _differs(spec, current):
                await self._schedules.ensure(spec, self._target)
                report.updated_schedules.append(name)
        return report


async def connect(
    settings: Settings, clients: CronClients, clock: Callable[[], datetime] | None = None
) -> CronService:
    """The cron service of `settings`' deployment, on its `CronClients`.

    Raises:
        TargetGone: the inbound queue does not exist (nothing provisioned at that endpoint/prefix).
        ConfigError: in AWS, `CLAWBUS_SCHEDULER__ROLE_ARN` is not set.
    """
    prefix = settings.bus.prefix
    endpoint = settings.aws.endpoint_url
    inbound = inbound_queue_name(prefix)
    url = await resolve_queue_url(clients.sqs, inbound, endpoint)
    with map_aws_errors(f"GetQueueAttributes {inbound}"):
        attributes = await clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    role_arn = settings.scheduler.role_arn
    if role_arn is None:
        if not is_loopback(endpoint):
            raise ConfigError(
                "CLAWBUS_SCHEDULER__ROLE_ARN is not set: give the role EventBridge Scheduler assumes "
                "(Terraform output scheduler_role_arn)"
            )
        role_arn = f"arn:aws:iam::000000000000:role/{prefix}-scheduler"
    target = ScheduleTarget(
        attributes["Attributes"]["QueueArn"], role_arn, settings.scheduler.dead_letter_arn
    )
    return CronService(
        CronRecords(clients.dynamodb, cron_table_name(prefix)),
        Schedules(clients.scheduler, schedule_group_name(prefix)),
        clients.sqs,
        prefix=prefix,
        target=target,
        inbound_url=url,
        clock=clock or utc_now,
    )
