"""Schedules whose target is gone: what `clawbus status` reports about EventBridge Scheduler.

A schedule that sends to a queue which no longer exists fails at every fire (in AWS its events go to
the scheduler's dead-letter queue; the local firer logs `scheduler.target.missing`). This lists the
deployment's schedule group and checks each target queue by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from clawbus.bus.topology import schedule_group_name
from clawbus.cli.ops.target import OpsTarget, ops_errors

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


@dataclass(frozen=True)
class BrokenSchedule:
    """A schedule and the queue it targets, which does not exist."""

    name: str
    target_queue: str


def schedules_with_missing_target(target: OpsTarget, sqs: SQSClient) -> list[BrokenSchedule]:
    """Every schedule of the deployment's group whose target queue is gone (empty when none)."""
    scheduler = target.client("scheduler")
    group = schedule_group_name(target.prefix)
    found: dict[str, str] = {}
    with ops_errors(target, f"ListSchedules {group}"):
        try:
            for page in scheduler.get_paginator("list_schedules").paginate(GroupName=group):
                for item in page.get("Schedules", []):
                    found[item["Name"]] = item.get("Target", {}).get("Arn", "")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return []  # no schedule group: nothing is scheduled
            raise
    broken = []
    exists: dict[str, bool] = {}
    for name, arn in sorted(found.items()):
        queue = arn.rsplit(":", 1)[-1]
        if queue not in exists:
            try:
                sqs.get_queue_url(QueueName=queue)
                exists[queue] = True
            except ClientError:
                exists[queue] = False
        if not exists[queue]:
            broken.append(BrokenSchedule(name, queue))
    return broken
