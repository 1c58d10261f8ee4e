"""Running `clawbus status|dlq …` as a user would: a subprocess with the deployment's environment."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clawbus.bus.topology import dlq_name, inbound_queue_name
from clawbus.schemas import attributes as attr
from tests.conftest import Bus
from tests.helpers import run_cli


@dataclass
class Ran:
    """A finished command."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """stdout as JSON."""
        return json.loads(self.out)


def clawbus(bus: Bus, data_dir: Path, *args: str, env: dict[str, str] | None = None) -> Ran:
    """Run `clawbus ARGS` against `bus` (data dir `data_dir`) and wait for it."""
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CLAWBUS_")},
        **bus.env,
        "CLAWBUS_LOCAL__DATA_DIR": str(data_dir),
        **(env or {}),
    }
    done = run_cli(list(args), full_env, timeout=120)
    return Ran(done.returncode, done.stdout, done.stderr)


def dead_letter(bus: Bus, body: str, group: str, dedup: str, **reason: str) -> str:
    """Put `body` on the inbound DLQ as the dispatcher does (reason attributes); returns its id."""
    sqs = bus.client("sqs")
    attributes = {
        attr.ERROR_TYPE: reason.get("type", "Unavailable"),
        attr.ERROR_STAGE: "dispatcher",
        attr.ERROR_REASON: reason.get("reason", "InvokeAgentRuntime: cannot reach the endpoint"),
        attr.ATTEMPTS: reason.get("attempts", "5"),
        attr.FIRST_SEEN: "2026-01-01T00:00:00+00:00",
        attr.SOURCE_QUEUE: inbound_queue_name(bus.prefix),
    }
    sent = sqs.send_message(
        QueueUrl=bus.queue_url(dlq_name(inbound_queue_name(bus.prefix))),
        MessageBody=body,
        MessageGroupId=group,
        MessageDeduplicationId=dedup,
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )
    return str(sent["MessageId"])


def one_line_error(ran: Ran) -> str:
    """The single error line a failed command printed (asserting there is no traceback)."""
    assert "Traceback" not in ran.err, ran.err
    lines = [line for line in ran.err.splitlines() if line.strip()]
    assert len(lines) == 1, ran.err
    assert lines[0].startswith("error: ")
    return lines[0]
