"""The cron table `<prefix>-cron`: job records and run history (DynamoDB, string keys `pk`/`sk`).

    pk = "job"           sk = <jobId>                     the job (its JSON in `body`)
    pk = "run:<jobId>"   sk = <fired at>#<event id>       one run (expires after `RUN_TTL_S`)
    pk = "fire:<name>"   sk = <fire time>                 the local firer's ledger (see `firer.py`)

Job writes are conditional where it matters (a new id must be new); deletes are idempotent. Runs are
appended by the dispatcher when a cron turn ends, so history is the same whether AWS or the local firer
fired the schedule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from clawbus.bus.aws import classify_client_error, map_aws_errors
from clawbus.bus.errors import InvalidSchedule, TargetGone
from clawbus.schemas.cron import CronJob, CronRun

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

RUN_TTL_S = 30 * 24 * 3600
JOB_PK = "job"


def _run_pk(job_id: str) -> str:
    return f"run:{job_id}"


class CronRecords:
    """Job records and run history in the cron table."""

    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._ddb = dynamodb
        self._table = table

    async def put_job(self, job: CronJob, *, new: bool) -> None:
        """Write `job`; with `new`, refuse (`InvalidSchedule`) when its id is taken."""
        item = {
            "pk": {"S": JOB_PK},
            "sk": {"S": job.id},
            "agent": {"S": job.agent_id},
            "body": {"S": job.to_wire()},
        }
        kwargs: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(sk)"} if new else {}
        try:
            await self._ddb.put_item(TableName=self._table, Item=item, **kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise InvalidSchedule(f"a cron job with id {job.id!r} already exists") from exc
            raise classify_client_error(exc, f"PutItem {self._table}") from exc

    async def get_job(self, job_id: str) -> CronJob | None:
        """The job, or None when there is no record."""
        with map_aws_errors(f"GetItem {self._table}"):
            response = await self._ddb.get_item(
                TableName=self._table, Key={"pk": {"S": JOB_PK}, "sk": {"S": job_id}}, ConsistentRead=True
            )
        item = response.get("Item")
        return CronJob.model_validate_json(item["body"]["S"]) if item else None

    async def require_job(self, job_id: str) -> CronJob:
        """The job, or `TargetGone` naming it."""
        job = await self.get_job(job_id)
        if job is None:
            raise TargetGone(f"no cron job {job_id!r} — 'clawbus cron list' shows the jobs")
        return job

    async def list_jobs(self) -> list[CronJob]:
        """Every job record, oldest first."""
        jobs: list[CronJob] = []
        with map_aws_errors(f"Query {self._table}"):
            paginator = self._ddb.get_paginator("query")
            async for page in paginator.paginate(
                TableName=self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": JOB_PK}},
                ConsistentRead=True,
            ):
                jobs.extend(CronJob.model_validate_json(i["body"]["S"]) for i in page.get("Items", []))
        return sorted(jobs, key=lambda j: j.created_at)

    async def delete_job(self, job_id: str) -> None:
        """Delete the record (nothing happens when it is already gone)."""
        with map_aws_errors(f"DeleteItem {self._table}"):
            await self._ddb.delete_item(TableName=self._table, Key={"pk": {"S": JOB_PK}, "sk": {"S": job_id}})

    async def append_run(self, run: CronRun, now: int) -> None:
        """Add a run to its job's history (the same run twice is one item)."""
        item = {
            "pk": {"S": _run_pk(run.job_id)},
            "sk": {"S": f"{run.ts.isoformat()}#{run.event_id}"},
            "body": {"S": run.to_wire()},
            "expires_at": {"N": str(now + RUN_TTL_S)},
        }
        with map_aws_errors(f"PutItem {self._table}"):
            await self._ddb.put_item(TableName=self._table, Item=item)

    async def list_runs(self, job_id: str, limit: int = 50) -> list[CronRun]:
        """The job's newest runs first, at most `limit` (OpenClaw pages 50 by default, 200 at most)."""
        with map_aws_errors(f"Query {self._table}"):
            response = await self._ddb.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": _run_pk(job_id)}},
                ScanIndexForward=False,
                Limit=max(1, min(limit, 200)),
            )
        return [CronRun.model_validate_json(i["body"]["S"]) for i in response.get("Items", [])]
