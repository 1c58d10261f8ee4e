"""Queue depths and a one-word verdict per queue.

SQS reports three counts per queue (`ApproximateNumberOfMessages` visible, `…NotVisible` in flight,
`…Delayed`). The age of the oldest message is not a queue attribute: for a dead-letter queue it is read
from the messages themselves (a brief peek, harmless there: a DLQ has no redrive policy to count
receives against); for the other queues it comes from CloudWatch's `ApproximateAgeOfOldestMessage` in
AWS and is unknown on the loopback API (peeking there would count as a receive and could push a message
into its DLQ). "Backlog growing" needs two samples: the verdict compares with the previous one.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from clawbus.bus.topology import Topology

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeFilterType

    from clawbus.cli.ops.target import OpsTarget

DEPTH_ATTRIBUTES: list[QueueAttributeFilterType] = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
]


class Verdict(enum.StrEnum):
    """What an operator should conclude about one queue."""

    HEALTHY = "healthy"
    BACKLOG_GROWING = "backlog growing"
    DLQ_NOT_EMPTY = "DLQ not empty"


@dataclass(frozen=True)
class QueueDepth:
    """One queue's counts at one moment."""

    name: str
    kind: str  # inbound | egress | dlq
    visible: int
    in_flight: int
    delayed: int
    oldest_age_s: float | None = None

    @property
    def total(self) -> int:
        """Every message the queue holds, whatever its state."""
        return self.visible + self.in_flight + self.delayed

    def as_json(self) -> dict[str, Any]:
        """A plain dict for `--json` and the dashboard."""
        return asdict(self)


def queue_kind(topology: Topology, name: str) -> str:
    """`inbound`, `egress` or `dlq` for a queue of `topology`."""
    if topology.queue(name).is_dlq:
        return "dlq"
    return "egress" if "-egress-" in name else "inbound"


def depth_from_attributes(
    name: str, kind: str, attributes: Mapping[str, str], oldest_age_s: float | None = None
) -> QueueDepth:
    """A `QueueDepth` from `GetQueueAttributes`' answer."""
    return QueueDepth(
        name=name,
        kind=kind,
        visible=int(attributes.get("ApproximateNumberOfMessages", "0")),
        in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", "0")),
        delayed=int(attributes.get("ApproximateNumberOfMessagesDelayed", "0")),
        oldest_age_s=oldest_age_s,
    )


def verdict(current: QueueDepth, previous: QueueDepth | None) -> Verdict:
    """The verdict for a queue: a DLQ holding anything is the alarm; elsewhere growth between samples."""
    if current.kind == "dlq":
        return Verdict.DLQ_NOT_EMPTY if current.total > 0 else Verdict.HEALTHY
    if previous is not None and current.visible > 0 and current.visible > previous.visible:
        return Verdict.BACKLOG_GROWING
    return Verdict.HEALTHY


def _oldest_in_dlq(sqs: SQSClient, url: str, now: datetime) -> float | None:
    """Age of the oldest message among the first receive's worth (FIFO serves oldest groups first)."""
    response = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=5,
        WaitTimeSeconds=0,
        MessageSystemAttributeNames=["SentTimestamp"],
    )
    messages = response.get("Messages", [])
    if messages:
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(messages)
            ],
        )
    sent = [int(m.get("Attributes", {}).get("SentTimestamp", "0")) for m in messages]
    if not sent:
        return None
    return max(0.0, now.timestamp() - min(sent) / 1000)


def _oldest_from_cloudwatch(cloudwatch: Any, name: str, now: datetime) -> float | None:
    """CloudWatch's latest `ApproximateAgeOfOldestMessage` for a queue (AWS only; 1-minute metrics)."""
    response = cloudwatch.get_metric_statistics(
        Namespace="AWS/SQS",
        MetricName="ApproximateAgeOfOldestMessage",
        Dimensions=[{"Name": "QueueName", "Value": name}],
        StartTime=now - timedelta(minutes=5),
        EndTime=now,
        Period=60,
        Statistics=["Maximum"],
    )
    points = sorted(response.get("Datapoints", []), key=lambda p: p["Timestamp"])
    return float(points[-1]["Maximum"]) if points else None


def sample_depths(
    target: OpsTarget, sqs: SQSClient, urls: Mapping[str, str], *, with_age: bool = True
) -> list[QueueDepth]:
    """Sample every queue in `urls` (name → URL), in order."""
    from clawbus.cli.ops.target import ops_errors

    topology = target.topology()
    now = datetime.now(UTC)
    cloudwatch = None if target.loopback or not with_age else target.client("cloudwatch")
    depths = []
    for name, url in urls.items():
        kind = queue_kind(topology, name)
        with ops_errors(target, f"GetQueueAttributes {name}"):
            answer = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=DEPTH_ATTRIBUTES)
            attributes = {str(key): value for key, value in answer.get("Attributes", {}).items()}
            depth = depth_from_attributes(name, kind, attributes)
        age: float | None = None
        if with_age and depth.total > 0:
            with ops_errors(target, f"age of the oldest message in {name}"):
                if kind == "dlq":
                    age = _oldest_in_dlq(sqs, url, now)
                elif cloudwatch is not None:
                    age = _oldest_from_cloudwatch(cloudwatch, name, now)
        depths.append(QueueDepth(**{**depth.as_json(), "oldest_age_s": age}))
    return depths
