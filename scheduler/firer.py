"""`clawbus scheduler`: the local firer of the embedded default (the loopback API stores schedules but
never fires them). In AWS, EventBridge Scheduler fires and this process does not run.

Every `tick_s` it lists the schedule group, reads new or changed schedules, and for each due fire
(`scheduler.core.due_fires.due_fire`) it:

1. claims `(schedule, fire time)` in the cron table with a conditional put, BEFORE sending: a fire that is
   already claimed and sent is never sent again, by this process or after a restart;
2. sends the schedule's Input (context attributes filled in) to the target queue as Scheduler would;
3. marks the claim sent, and deletes a one-time schedule with `ActionAfterCompletion=DELETE`.

A claim whose process died between 1 and 3 is taken over after `lease_s` and sent again; the body is
the same, so the inbound queue's content-based dedup drops the copy if the first send got through
within five minutes, and the dispatcher's turn ledger drops it after that. A target queue that is gone
is logged (`scheduler.target.missing`) and the fire marked failed; `clawbus status` reports the schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from botocore.exceptions import ClientError

from clawbus.bus.aws import classify_client_error
from clawbus.bus.clients import CronClients, open_stage_clients
from clawbus.bus.errors import InvalidSchedule, TargetGone, VersionConflict
from clawbus.bus.lifecycle import stop_on_signals
from clawbus.bus.logging import log_event
from clawbus.bus.settings import Settings
from clawbus.bus.topology import cron_table_name, schedule_group_name
from clawbus.scheduler.core.due_fires import Definition, due_fire, queue_name, render_input
from clawbus.storage.backends import record_store
from clawbus.storage.cron.expressions import scheduled_time_text
from clawbus.storage.cron.schedules import Schedules, ScheduleSummary
from clawbus.storage.records import Absent, AllOf, Compare, RecordStore

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_sqs import SQSClient

logger = logging.getLogger(__name__)
LEDGER_TTL_S = 8 * 24 * 3600
Claim = Literal["new", "taken-over", "done", "busy"]


class Firer:
    """Fires the due schedules of one group; `tick` is one pass (tests call it directly)."""

    def __init__(
        self,
        schedules: Schedules,
        dynamodb: DynamoDBClient,
        sqs: SQSClient,
        table: str,
        *,
        clock: Callable[[], datetime],
        lease_s: float = 30.0,
    ) -> None:
        self._schedules = schedules
        self._records: RecordStore = record_store(dynamodb, table, range_key="sk", ttl_attribute="expires_at")
        self._sqs = sqs
        self._clock = clock
        self._lease_s = lease_s
        self._known: dict[str, tuple[ScheduleSummary, Definition | None]] = {}
        self._done: set[tuple[str, datetime]] = set()
        self._urls: dict[str, str] = {}
        self.fired = 0

    async def tick(self) -> list[tuple[str, datetime]]:
        """Send every due fire not sent before; returns the (schedule, fire time) pairs sent now."""
        await self._refresh()
        now = self._clock()
        sent = []
        for name, (_summary, definition) in list(self._known.items()):
            if definition is None:
                continue
            fire = due_fire(definition, now)
            if fire is None or (name, fire) in self._done:
                continue
            if await self._fire(definition, fire, now):
                sent.append((name, fire))
        return sent

    async def _refresh(self) -> None:
        summaries = {s.name: s for s in await self._schedules.list()}
        for name in set(self._known) - set(summaries):
            del self._known[name]
        for name, summary in summaries.items():
            cached = self._known.get(name)
            if cached is not None and cached[0].modified_at == summary.modified_at:
                continue
            schedule = await self._schedules.get(name)
            if schedule is None:
                continue
            try:
                self._known[name] = (summary, Definition.from_schedule(schedule))
            except InvalidSchedule as exc:
                log_event(logger, "scheduler.schedule.invalid", logging.ERROR, schedule=name, reason=str(exc))
                self._known[name] = (summary, None)

    async def _fire(self, definition: Definition, fire: datetime, now: datetime) -> bool:
        key = {"pk": f"fire:{definition.name}", "sk": scheduled_time_text(fire)}
        claim = await self._claim(key, now)
        if claim in ("done", "busy"):
            if claim == "done":
                self._done.add((definition.name, fire))
            return False
        try:
            await self._send(definition, fire)
        except TargetGone as exc:
            await self._mark(key, "failed")
            self._done.add((definition.name, fire))
            log_event(
                logger,
                "scheduler.target.missing",
                logging.ERROR,
                schedule=definition.name,
                target=definition.target_arn,
                fire_time=scheduled_time_text(fire),
                reason=str(exc),
            )
            return False
        await self._mark(key, "sent")
        self._done.add((definition.name, fire))
        self.fired += 1
        log_event(
            logger,
            "scheduler.schedule.fired",
            schedule=definition.name,
            fire_time=scheduled_time_text(fire),
            late_ms=round((now - fire).total_seconds() * 1000),
            retaken=claim == "taken-over",
        )
        if definition.delete_after:
            await self._schedules.delete(definition.name)
            self._known.pop(definition.name, None)
        return True

    async def _claim(self, key: dict[str, str], now: datetime) -> Claim:
        stamp = int(now.timestamp())
        item = {**key, "status": "claimed", "claimed_at": stamp, "expires_at": stamp + LEDGER_TTL_S}
        try:
            await self._records.put(item, condition=Absent())
        except VersionConflict:
            pass
        else:
            return "new"
        existing = await self._records.get(key, now=now)
        if existing is None or existing.text("status") != "claimed":
            return "done"
        claimed_at = existing.whole("claimed_at")
        if now - datetime.fromtimestamp(claimed_at, UTC) < timedelta(seconds=self._lease_s):
            return "busy"
        try:  # the claimer died before it finished: take the claim over, once
            await self._records.update(
                key,
                set_={"claimed_at": stamp},
                condition=AllOf((Compare("status", "=", "claimed"), Compare("claimed_at", "=", claimed_at))),
            )
        except VersionConflict:
            return "busy"
        return "taken-over"

    async def _mark(self, key: dict[str, str], status: str) -> None:
        await self._records.update(key, set_={"status": status})

    async def _send(self, definition: Definition, fire: datetime) -> None:
        name = queue_name(definition.target_arn)
        if name not in self._urls:
            try:
                self._urls[name] = (await self._sqs.get_queue_url(QueueName=name))["QueueUrl"]
            except ClientError as exc:
                raise TargetGone(f"target queue {name} of schedule {definition.name} does not exist") from exc
        body = render_input(definition, fire)
        try:
            if definition.group_id:
                await self._sqs.send_message(
                    QueueUrl=self._urls[name], MessageBody=body, MessageGroupId=definition.group_id
                )
            else:
                await self._sqs.send_message(QueueUrl=self._urls[name], MessageBody=body)
        except ClientError as exc:
            self._urls.pop(name, None)
            raise classify_client_error(exc, f"SendMessage {name}") from exc


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Fire the deployment's schedules until stopped (SIGTERM/SIGINT or `stop`)."""
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    config = settings.scheduler
    offset = timedelta(seconds=config.test_clock_offset_s)
    prefix = settings.bus.prefix
    async with open_stage_clients(settings, CronClients) as clients:
        firer = Firer(
            Schedules(clients.scheduler, schedule_group_name(prefix)),
            clients.dynamodb,
            clients.sqs,
            cron_table_name(prefix),
            clock=lambda: datetime.now(UTC) + offset,
            lease_s=config.lease_s,
        )
        started_logged = False
        while not stop.is_set():
            started = time.monotonic()
            try:
                await firer.tick()
            except Exception as exc:  # the loop's outermost guard: log, keep firing
                error = f"{type(exc).__name__}: {exc}"
                log_event(logger, "scheduler.tick.failed", logging.WARNING, error=error)
            if not started_logged:  # after the first pass: missed fires are caught up by then
                group = schedule_group_name(prefix)
                log_event(logger, "scheduler.started", group=group, tick_s=config.tick_s)
                started_logged = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, config.tick_s - (time.monotonic() - started)))
        log_event(logger, "scheduler.stopped", fired=firer.fired)
