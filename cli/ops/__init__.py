"""Operating the bus: queue depths and verdicts, dead letters (list, show, replay, purge).

These are the pieces behind `clawbus status`, `clawbus dlq …` and the dashboard. They talk to SQS with
a synchronous boto3 client (the CLI's), take every name from `bus.topology`, and raise only clawbus
errors (`ops_errors` translates botocore's, including missing credentials), so the CLI can print one
line and exit.
"""

from __future__ import annotations

from clawbus.cli.ops.dead_letters import DeadLetter, find_letter, peek_letters, purge
from clawbus.cli.ops.depth import QueueDepth, Verdict, depth_from_attributes, sample_depths, verdict
from clawbus.cli.ops.redact import redact
from clawbus.cli.ops.replay import ReplayFilter, ReplayReport, replay, start_server_side_redrive
from clawbus.cli.ops.schedules import BrokenSchedule, schedules_with_missing_target
from clawbus.cli.ops.target import OpsTarget, ops_errors, resolve_dlq

__all__ = [
    "BrokenSchedule",
    "DeadLetter",
    "OpsTarget",
    "QueueDepth",
    "ReplayFilter",
    "ReplayReport",
    "Verdict",
    "depth_from_attributes",
    "find_letter",
    "ops_errors",
    "peek_letters",
    "purge",
    "redact",
    "replay",
    "resolve_dlq",
    "sample_depths",
    "schedules_with_missing_target",
    "start_server_side_redrive",
    "verdict",
]
