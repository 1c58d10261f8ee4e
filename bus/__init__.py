"""Bus plumbing shared by every stage: settings, errors, AWS clients, queues, the FIFO consumer,
logging and tracing, and the topology of queues, topics, tables and buckets with its provisioner.

Stages import from here and from `clawbus.schemas`, never from each other.
"""

from __future__ import annotations

from clawbus.bus.errors import (
    AgentRejected,
    ClawbusError,
    ConfigError,
    DeadlineExceeded,
    InvalidEnvelope,
    InvalidSchedule,
    PermanentError,
    RetryableError,
    TargetGone,
    Throttled,
    Unauthorized,
    Unavailable,
    UnsupportedSchemaVersion,
)
from clawbus.bus.settings import Settings

__all__ = [
    "AgentRejected",
    "ClawbusError",
    "ConfigError",
    "DeadlineExceeded",
    "InvalidEnvelope",
    "InvalidSchedule",
    "PermanentError",
    "RetryableError",
    "Settings",
    "TargetGone",
    "Throttled",
    "Unauthorized",
    "Unavailable",
    "UnsupportedSchemaVersion",
]
