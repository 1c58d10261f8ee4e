"""What the dispatcher keeps for scheduled turns: each agent's last route, and cron run history.

The last route (OpenClaw's `lastChannel`/`lastTo`) is the chat an agent's user last spoke from. The
dispatcher writes it, one item `route:<agentId>` in the ledger table, when a user's message turn runs
and the route changed; heartbeat and cron turns without a delivery target are announced there. It is
the simplest design that works whatever the session scope: the scheduled event needs no copy of a
route that may have changed between scheduling and firing.

When a cron job's turn ends, its run is appended to the job's history in the cron table, and a one-shot
job (`deleteAfterRun`, on by default) has its record deleted — its schedule deleted itself after firing.
Both are best effort: the reply has already gone out, and a lost history line must not re-run a turn.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from clawbus.bus.aws import map_aws_errors
from clawbus.bus.cron.records import CronRecords
from clawbus.bus.errors import ClawbusError
from clawbus.bus.logging import log_event
from clawbus.dispatcher.core import Route
from clawbus.schemas import InboundEvent, ReplyTarget
from clawbus.schemas.cron import CronRun

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

logger = logging.getLogger(__name__)


class LastRoutes:
    """Each agent's last route, in the ledger table (no expiry: a user may stay silent for weeks)."""

    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._ddb = dynamodb
        self._table = table
        self._seen: dict[str, Route] = {}

    async def remember(self, agent_id: str, route: Route) -> None:
        """Store `route` as the agent's last route (one write when it changed)."""
        if self._seen.get(agent_id) == route:
            return
        body = {"channel": route.channel, "account_id": route.account_id, "target": route.target.model_dump()}
        with map_aws_errors(f"PutItem {self._table}"):
            await self._ddb.put_item(
                TableName=self._table,
                Item={"pk": {"S": f"route:{agent_id}"}, "route": {"S": json.dumps(body)}},
            )
        self._seen[agent_id] = route

    async def lookup(self, agent_id: str) -> Route | None:
        """The agent's last route, or None when its user never spoke."""
        with map_aws_errors(f"GetItem {self._table}"):
            response = await self._ddb.get_item(
                TableName=self._table, Key={"pk": {"S": f"route:{agent_id}"}}, ConsistentRead=True
            )
        item = response.get("Item")
        if item is None:
            return None
        body = json.loads(item["route"]["S"])
        return Route(body["channel"], body["account_id"], ReplyTarget.model_validate(body["target"]))


class CronHistory:
    """Appends cron runs and retires finished one-shots."""

    def __init__(self, records: CronRecords) -> None:
        self._records = records

    async def finished(
        self, event: InboundEvent, *, delivered: bool | None, duration_ms: float, now: datetime
    ) -> None:
        """Record the run of `event`'s job (`delivered` None: no delivery was asked for)."""
        if event.job_id is None:
            return
        status = "not-requested" if delivered is None else "delivered" if delivered else "not-delivered"
        run = CronRun(
            job_id=event.job_id,
            ts=event.received_at,
            event_id=event.event_id,
            status="ok",
            session_key=event.session_key,
            delivery_status=status,
            duration_ms=duration_ms,
        )
        try:
            await self._records.append_run(run, int(now.timestamp()))
            job = await self._records.get_job(event.job_id)
            manual = event.event_id.startswith(f"cron:{event.job_id}:run-")
            if job is not None and job.deletes_after_run and not manual:
                await self._records.delete_job(job.id)
                log_event(logger, "dispatcher.cron.job_finished", job_id=job.id)
        except ClawbusError as exc:
            log_event(
                logger,
                "dispatcher.cron.history_failed",
                logging.WARNING,
                job_id=event.job_id,
                error=f"{type(exc).__name__}: {exc}",
            )
