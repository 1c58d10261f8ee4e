"""`clawbus status` reports what is on the queues, judges them, and gates on dead letters."""

from __future__ import annotations

import json
from pathlib import Path

from clawbus.bus.topology import dlq_name, egress_queue_name, inbound_queue_name
from tests.conftest import Bus
from tests.ops.ops_cli import clawbus, dead_letter, one_line_error


def _by_name(document: dict[str, object]) -> dict[str, dict[str, object]]:
    return {q["name"]: q for q in document["queues"]}  # type: ignore[attr-defined]


def test_status_figures_match_what_was_put_on_the_queues(bus: Bus, tmp_path: Path) -> None:
    sqs = bus.client("sqs")
    inbound = inbound_queue_name(bus.prefix)
    telegram = egress_queue_name(bus.prefix, "telegram")
    for i in range(4):
        sqs.send_message(
            QueueUrl=bus.queue_url(inbound),
            MessageBody="{}",
            MessageGroupId=f"s{i}",
            MessageDeduplicationId=f"m{i}",
        )
    taken = sqs.receive_message(QueueUrl=bus.queue_url(inbound), MaxNumberOfMessages=1, VisibilityTimeout=120)
    assert len(taken["Messages"]) == 1
    sqs.set_queue_attributes(QueueUrl=bus.queue_url(telegram), Attributes={"DelaySeconds": "600"})
    for i in range(2):
        sqs.send_message(
            QueueUrl=bus.queue_url(telegram),
            MessageBody="{}",
            MessageGroupId="t",
            MessageDeduplicationId=f"t{i}",
        )
    dead_letter(bus, '{"not": "ours"}', "g", "d1")

    ran = clawbus(bus, tmp_path, "status", "--json")

    assert ran.code == 1, ran.err  # a DLQ holds a message: the deploy gate closes
    queues = _by_name(json.loads(ran.out))
    assert queues[inbound] | {"oldest_age_s": None} == {
        "name": inbound,
        "kind": "inbound",
        "visible": 3,
        "in_flight": 1,
        "delayed": 0,
        "oldest_age_s": None,
        "verdict": "healthy",
    }
    assert (queues[telegram]["visible"], queues[telegram]["delayed"]) == (0, 2)
    dlq = queues[dlq_name(inbound)]
    assert (dlq["visible"], dlq["verdict"]) == (1, "DLQ not empty")
    assert 0 <= dlq["oldest_age_s"] < 60  # type: ignore[operator]
    others = [q for name, q in queues.items() if name not in (inbound, telegram, dlq_name(inbound))]
    assert len(others) == 9
    assert all(q["verdict"] == "healthy" and q["visible"] == 0 for q in others)


def test_a_backlog_that_grows_between_two_runs_is_called_growing_and_does_not_fail_the_gate(
    bus: Bus, tmp_path: Path
) -> None:
    sqs = bus.client("sqs")
    url = bus.queue_url(inbound_queue_name(bus.prefix))

    def send(n: int) -> None:
        sqs.send_message(QueueUrl=url, MessageBody="{}", MessageGroupId="g", MessageDeduplicationId=f"m{n}")

    send(0)
    first = clawbus(bus, tmp_path, "status", "--json")
    assert first.code == 0, first.err
    assert _by_name(first.json())[inbound_queue_name(bus.prefix)]["verdict"] == "healthy"
    send(1)
    second = clawbus(bus, tmp_path, "status")
    assert second.code == 0, second.err
    line = next(line for line in second.out.splitlines() if line.strip().startswith("inbound.fifo"))
    assert line.split()[1:3] == ["2", "0"]
    assert line.rstrip().endswith("backlog growing")


def test_an_unknown_prefix_is_one_line_that_names_the_flag(bus: Bus, tmp_path: Path) -> None:
    ran = clawbus(bus, tmp_path, "status", "--prefix", "nosuchprefix")
    assert ran.code == 2
    assert "queue nosuchprefix-inbound.fifo not found" in one_line_error(ran)
    assert "--prefix" in ran.err


def test_no_credentials_for_aws_is_one_line_that_says_what_to_set(bus: Bus, tmp_path: Path) -> None:
    isolated = {
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
        "CLAWBUS_AWS__ENDPOINT_URL": "",
    }
    ran = clawbus(bus, tmp_path, "status", "--aws", env=isolated)
    assert ran.code == 2
    assert "no AWS credentials" in one_line_error(ran)
    assert "--profile" in ran.err


def test_an_unreachable_endpoint_is_one_line(bus: Bus, tmp_path: Path) -> None:
    ran = clawbus(bus, tmp_path, "dlq", "list", "--endpoint-url", "http://127.0.0.1:9")
    assert ran.code == 2
    assert "cannot reach the endpoint" in one_line_error(ran)
