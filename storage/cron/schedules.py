"""EventBridge Scheduler as the cron service and the local firer use it: idempotent create and delete.

`ensure` creates a schedule or, when one of that name exists, updates it to match (so retrying a
half-finished `add` converges); `delete` of a missing schedule is not an error. `ScheduleTarget` holds
what only the deployment knows: the inbound queue's ARN, the role Scheduler assumes, its dead-letter
queue (a STANDARD queue: Scheduler refuses FIFO ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from clawbus.bus.aws import classify_client_error, map_aws_errors
from clawbus.storage.cron.jobs import ScheduleSpec

if TYPE_CHECKING:
    from types_aiobotocore_scheduler import EventBridgeSchedulerClient

RETRY_POLICY = {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10}  # as the Terraform


@dataclass(frozen=True)
class ScheduleTarget:
    """Where schedules send (the inbound queue) and as whom."""

    queue_arn: str
    role_arn: str
    dead_letter_arn: str | None = None


@dataclass(frozen=True)
class ScheduleSummary:
    """A schedule as ListSchedules names it."""

    name: str
    group: str
    target_arn: str
    state: str
    modified_at: datetime | None


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class Schedules:
    """The schedules of one group (`<prefix>`)."""

    def __init__(self, scheduler: EventBridgeSchedulerClient, group: str) -> None:
        self._scheduler = scheduler
        self.group = group

    def _request(self, spec: ScheduleSpec, target: ScheduleTarget) -> dict[str, Any]:
        sqs_target: dict[str, Any] = {
            "Arn": target.queue_arn,
            "RoleArn": target.role_arn,
            "Input": spec.input,
            "SqsParameters": {"MessageGroupId": spec.group_id},
            "RetryPolicy": RETRY_POLICY,
        }
        if target.dead_letter_arn:
            sqs_target["DeadLetterConfig"] = {"Arn": target.dead_letter_arn}
        request: dict[str, Any] = {
            "Name": spec.name,
            "GroupName": self.group,
            "Description": spec.description,
            "ScheduleExpression": spec.expression,
            "ScheduleExpressionTimezone": spec.timezone,
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED" if spec.enabled else "DISABLED",
            "Target": sqs_target,
        }
        if spec.one_shot:
            request["ActionAfterCompletion"] = "DELETE"
        return request

    async def ensure(self, spec: ScheduleSpec, target: ScheduleTarget) -> None:
        """Create the schedule, or bring an existing one of that name in line (safe to repeat)."""
        request = self._request(spec, target)
        try:
            await self._scheduler.create_schedule(**request)
        except ClientError as exc:
            if _code(exc) != "ConflictException":
                raise classify_client_error(exc, f"CreateSchedule {self.group}/{spec.name}") from exc
            with map_aws_errors(f"UpdateSchedule {self.group}/{spec.name}"):
                await self._scheduler.update_schedule(**request)

    async def delete(self, name: str) -> bool:
        """Delete the schedule; False when there was none (safe to repeat)."""
        try:
            await self._scheduler.delete_schedule(Name=name, GroupName=self.group)
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return False
            raise classify_client_error(exc, f"DeleteSchedule {self.group}/{name}") from exc
        return True

    async def get(self, name: str) -> dict[str, Any] | None:
        """The schedule's full definition (GetSchedule's response), or None when there is none."""
        try:
            response = await self._scheduler.get_schedule(Name=name, GroupName=self.group)
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return None
            raise classify_client_error(exc, f"GetSchedule {self.group}/{name}") from exc
        return dict(response)

    async def list(self, name_prefix: str | None = None) -> list[ScheduleSummary]:
        """Every schedule of the group (optionally only names starting with `name_prefix`)."""
        found = []
        kwargs: dict[str, Any] = {"GroupName": self.group}
        if name_prefix:
            kwargs["NamePrefix"] = name_prefix
        with map_aws_errors(f"ListSchedules {self.group}"):
            async for page in self._scheduler.get_paginator("list_schedules").paginate(**kwargs):
                for item in page.get("Schedules", []):
                    found.append(
                        ScheduleSummary(
                            name=item["Name"],
                            group=item.get("GroupName", self.group),
                            target_arn=item.get("Target", {}).get("Arn", ""),
                            state=item.get("State", "ENABLED"),
                            modified_at=item.get("LastModificationDate"),
                        )
                    )
        return found
