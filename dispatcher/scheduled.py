"""What the dispatcher keeps for scheduled turns: the agent's last route, and cron run history.

The last route (OpenClaw's `deliveryContext`/`lastChannel`/`lastTo`) is where heartbeat and cron turns
without a delivery target are announced. It lives on the session entries (`storage/sessions.py`),
and the dispatcher is the one stage that writes it: before a turn runs, when the turn's message is a
trusted DM (`core/last_route.py` decides), on the entry of the message's session and on the agent's main
session entry (where heartbeats run), each a versioned read-modify-write that loses no concurrent update
and writes nothing when the route did not change. There is no per-process cache: several dispatcher
tasks read and write the same entries. A scheduled turn reads its own session's entry, then the main
one; no trusted route on either means the answer is not delivered.

When a cron job's turn ends, its run is appended to the job's history in the cron table, and a one-shot
job (`deleteAfterRun`, on by default) has its record deleted — its schedule deleted itself after firing.
Both are best effort: the reply has already gone out, and a lost history line must not re-run a turn.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime

from clawbus.bus.errors import ClawbusError
from clawbus.bus.logging import log_event, session_ref
from clawbus.dispatcher.core import Route, as_delivery_context, route_sessions, stored_route
from clawbus.schemas import InboundEvent
from clawbus.schemas.cron import CronRun
from clawbus.storage import SessionEntry, SessionIndex, with_last_route
from clawbus.storage.cron.records import CronRecords

logger = logging.getLogger(__name__)


class LastRoutes:
    """The agent's last route on its session entries (see the module doc)."""

    def __init__(self, index: SessionIndex, new_id: Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        self._index = index
        self._new_id = new_id

    async def remember(self, event: InboundEvent, route: Route) -> None:
        """Make `route`, which `event` moved, the last route of its session and of the main session.

        Safe to repeat (a re-run turn writes nothing new); raises the index's errors (retry the turn).
        """
        move = with_last_route(as_delivery_context(route), self._new_id())
        for key in route_sessions(event):
            moved = False

            def change(current: SessionEntry | None) -> SessionEntry:
                nonlocal moved
                updated = move(current)
                moved = updated is not current  # as last applied (a lost race applies it again)
                return updated

            await self._index.update(event.agent_id, key, change)
            if moved:
                log_event(logger, "dispatcher.route.moved", channel=route.channel, session=session_ref(key))

    async def lookup(self, event: InboundEvent) -> Route | None:
        """Where a scheduled `event` without a target is announced: the trusted route on its own session's
        entry, else on the main session's; None when neither has one."""
        for key in route_sessions(event):
            found = stored_route([await self._index.get(event.agent_id, key)])
            if found is not None:
                return found
        return None


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
