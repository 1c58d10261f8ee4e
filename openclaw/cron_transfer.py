"""OpenClaw's cron jobs and run lines (`cron/jobs.json`, `cron/runs/<jobId>.jsonl`) to clawbus's cron
model and back."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from clawbus.schemas.cron import CronJob, CronRun


def cron_job_from_openclaw(job: Mapping[str, Any]) -> CronJob:
    """OpenClaw's job record (`createdAtMs`, `state` …) as clawbus's; raises `ValidationError`."""
    data = dict(job)
    for ms, name in (("createdAtMs", "createdAt"), ("updatedAtMs", "updatedAt")):
        value = data.pop(ms, None)
        if isinstance(value, int | float) and name not in data:
            data[name] = datetime.fromtimestamp(value / 1000, UTC)
    data.pop("state", None)  # run state is recomputed from Scheduler and the run history
    return CronJob.model_validate(data)


def cron_job_to_openclaw(job: CronJob) -> dict[str, Any]:
    """A clawbus job in OpenClaw's `jobs.json` shape."""
    data = job.model_dump(
        mode="json", exclude_none=True, exclude={"schema_version", "created_at", "updated_at"}
    )
    data.pop("schema_version", None)
    data["createdAtMs"] = int(job.created_at.timestamp() * 1000)
    data["updatedAtMs"] = int(job.updated_at.timestamp() * 1000)
    data.setdefault("state", {})
    return data


def cron_run_to_openclaw(run: CronRun) -> dict[str, Any]:
    """A run in OpenClaw's `runs/<jobId>.jsonl` line shape."""
    line: dict[str, Any] = {
        "ts": int(run.ts.timestamp() * 1000),
        "jobId": run.job_id,
        "action": "finished",
        "status": run.status,
        "sessionKey": run.session_key,
        "deliveryStatus": run.delivery_status,
        "delivered": run.delivery_status == "delivered",
    }
    if run.duration_ms is not None:
        line["durationMs"] = run.duration_ms
    if run.error:
        line["error"] = run.error
    return line


def cron_run_from_openclaw(job: CronJob, line: Mapping[str, Any]) -> CronRun:
    """One line of OpenClaw's `runs/<jobId>.jsonl` as a clawbus run; raises `ValidationError`/`KeyError`."""
    ts = datetime.fromtimestamp(float(line["ts"]) / 1000, UTC)
    delivery = line.get("deliveryStatus")
    if delivery not in ("delivered", "not-delivered", "not-requested"):
        delivery = "delivered" if line.get("delivered") else "not-delivered"
    return CronRun.model_validate(
        {
            "jobId": job.id,
            "ts": ts,
            "eventId": f"openclaw-{int(ts.timestamp() * 1000)}",
            "status": line.get("status", "ok"),
            "sessionKey": line.get("sessionKey") or f"agent:{job.agent_id}:cron:{job.id}",
            "deliveryStatus": delivery,
            "durationMs": line.get("durationMs"),
            "error": line.get("error"),
        }
    )
