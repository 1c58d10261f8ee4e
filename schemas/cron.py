"""Cron jobs and their runs, as OpenClaw's cron tool shapes them, and as the cron table stores them.

A job says *when* (`schedule`: `at` one time, `every` a fixed interval, `cron` an expression with a time
zone), *what* (`payload`: a `systemEvent` text for the main session, or an `agentTurn` message run in the
job's own isolated session `agent:<agentId>:cron:<jobId>`) and *where the result goes* (`delivery`).
Field names are OpenClaw's camelCase on the wire (`everyMs`, `sessionTarget`); Python uses snake_case.
A run is one firing's outcome, appended to the job's run history by the dispatcher.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from clawbus.schemas._base import WireModel


class _Camel(WireModel):
    model_config = ConfigDict(
        frozen=True, extra="allow", populate_by_name=True, alias_generator=to_camel, serialize_by_alias=True
    )


class AtSchedule(_Camel):
    """Once, at `at` (ISO-8601; a time without a zone is UTC, as in OpenClaw)."""

    kind: Literal["at"] = "at"
    at: datetime


class EverySchedule(_Camel):
    """Every `every_ms` milliseconds (Scheduler needs whole minutes, at least one)."""

    kind: Literal["every"] = "every"
    every_ms: int = Field(gt=0)
    anchor_ms: int | None = None


class CronSchedule(_Camel):
    """A cron expression: 5 fields (or 6 with seconds) as OpenClaw writes them, or `cron(...)` as
    Scheduler does; `tz` is an IANA zone (UTC when absent)."""

    kind: Literal["cron"] = "cron"
    expr: str = Field(min_length=1, max_length=256)
    tz: str | None = None


JobSchedule = Annotated[AtSchedule | EverySchedule | CronSchedule, Field(discriminator="kind")]


class SystemEventPayload(_Camel):
    """A text injected into the agent's main session."""

    kind: Literal["systemEvent"] = "systemEvent"
    text: str = Field(min_length=1, max_length=100_000)


class AgentTurnPayload(_Camel):
    """A message the agent answers in the job's isolated session."""

    kind: Literal["agentTurn"] = "agentTurn"
    message: str = Field(min_length=1, max_length=100_000)
    model: str | None = None
    timeout_seconds: int | None = Field(default=None, gt=0)


JobPayload = Annotated[SystemEventPayload | AgentTurnPayload, Field(discriminator="kind")]


class JobDelivery(_Camel):
    """Where a run's result goes: `announce` to a channel (`channel` absent or `last`: the last route),
    into a thread of the chat `to` when `thread_id` is given (added compatibly)."""

    mode: Literal["none", "announce"] = "announce"
    channel: str | None = None
    to: str | None = None
    account_id: str | None = None
    thread_id: str | None = None
    best_effort: bool = False


def _now() -> datetime:
    return datetime.now(UTC)


class CronJobV1(_Camel):
    """One cron job record (the schedule itself lives in EventBridge Scheduler, named after `id`)."""

    schema_version: Literal[1] = Field(default=1, alias="schema_version")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
    agent_id: str = "main"
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=512)
    enabled: bool = True
    delete_after_run: bool | None = None
    schedule: JobSchedule
    session_target: Literal["main", "isolated"] = "isolated"
    wake_mode: Literal["now", "next-heartbeat"] = "now"
    payload: JobPayload
    delivery: JobDelivery | None = None
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)

    @model_validator(mode="after")
    def _target_matches_payload(self) -> CronJobV1:
        wanted = "main" if isinstance(self.payload, SystemEventPayload) else "isolated"
        if self.session_target != wanted:
            raise ValueError(
                f"sessionTarget {self.session_target!r} does not fit a {self.payload.kind} payload: "
                "systemEvent runs in the main session, agentTurn in an isolated one"
            )
        return self

    @property
    def one_shot(self) -> bool:
        """Whether the job fires once (`at`)."""
        return isinstance(self.schedule, AtSchedule)

    @property
    def deletes_after_run(self) -> bool:
        """OpenClaw's rule: a one-shot is deleted after it ran unless `deleteAfterRun` is false."""
        return self.one_shot and self.delete_after_run is not False


class CronRunV1(_Camel):
    """One run of a job: when it fired, how the turn ended, whether its result was delivered."""

    schema_version: Literal[1] = Field(default=1, alias="schema_version")
    job_id: str
    ts: datetime
    event_id: str
    status: Literal["ok", "error", "skipped"]
    session_key: str
    delivery_status: Literal["delivered", "not-delivered", "not-requested"]
    duration_ms: float | None = None
    error: str | None = None


CronJob = CronJobV1
CronRun = CronRunV1
