"""The cron table `<prefix>-cron`: job records and run history (DynamoDB, string keys `pk`/`sk`).

    pk = "job"           sk = <jobId>                     the job (its JSON in `body`)
    pk = "run:<jobId>"   sk = <fired at>#<event id>       one run (expires after `RUN_TTL_S`)
    pk = "fire:<name>"   sk = <fire time>                 the local firer's ledger (see `firer.py`)

Records go through a `RecordStore`. Job writes are conditional where it matters (a new id must be new);
deletes are idempotent. Runs are appended by the dispatcher when a cron turn ends, so history is the same
whether AWS or the local firer fired the schedule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clawbus.bus.clock import utc_now
from clawbus.bus.errors import InvalidSchedule, TargetGone, VersionConflict
from clawbus.bus.topology import LEDGER_TTL_ATTRIBUTE
from clawbus.schemas.cron import CronJob, CronRun
from clawbus.storage.records import Absent, RecordStore
from clawbus.storage.records_dynamodb import DynamoRecordStore

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

RUN_TTL_S = 30 * 24 * 3600
JOB_PK = "job"


def _run_pk(job_id: str) -> str:
    return f"run:{job_id}"


class CronRecords:
    """Job records and run history in the cron table."""

    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._records: RecordStore = DynamoRecordStore(
            dynamodb, table, range_key="sk", ttl_attribute=LEDGER_TTL_ATTRIBUTE
        )

    async def put_job(self, job: CronJob, *, new: bool) -> None:
        """Write `job`; with `new`, refuse (`InvalidSchedule`) when its id is taken."""
        item = {"pk": JOB_PK, "sk": job.id, "agent": job.agent_id, "body": job.to_wire()}
        try:
            await self._records.put(item, condition=Absent() if new else None)
        except VersionConflict as exc:
            raise InvalidSchedule(f"a cron job with id {job.id!r} already exists") from exc

    async def get_job(self, job_id: str) -> CronJob | None:
        """The job, or None when there is no record; `CorruptRecord` when its body is not a job."""
        record = await self._records.get({"pk": JOB_PK, "sk": job_id}, now=utc_now())
        return record.model(CronJob) if record is not None else None

    async def require_job(self, job_id: str) -> CronJob:
        """The job, or `TargetGone` naming it."""
        job = await self.get_job(job_id)
        if job is None:
            raise TargetGone(f"no cron job {job_id!r} — 'clawbus cron list' shows the jobs")
        return job

    async def list_jobs(self) -> list[CronJob]:
        """Every job record, oldest first."""
        records = await self._records.query({"pk": JOB_PK}, now=utc_now())
        return sorted((r.model(CronJob) for r in records), key=lambda j: j.created_at)

    async def delete_job(self, job_id: str) -> None:
        """Delete the record (nothing happens when it is already gone)."""
        await self._records.delete({"pk": JOB_PK, "sk": job_id})

    async def append_run(self, run: CronRun, now: int) -> None:
        """Add a run to its job's history (the same run twice is one item)."""
        item = {
            "pk": _run_pk(run.job_id),
            "sk": f"{run.ts.isoformat()}#{run.event_id}",
            "body": run.to_wire(),
            "expires_at": now + RUN_TTL_S,
        }
        await self._records.put(item)

    async def list_runs(self, job_id: str, limit: int = 50) -> list[CronRun]:
        """The job's newest runs first, at most `limit` (OpenClaw pages 50 by default, 200 at most)."""
        records = await self._records.query(
            {"pk": _run_pk(job_id)}, newest_first=True, limit=max(1, min(limit, 200)), now=utc_now()
        )
        return [r.model(CronRun) for r in records]
