"""Which requests the loopback AWS API journals (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clawbus.local.aws_journal import Journal, changes_state

JSON = "application/x-amz-json-1.0"
FORM = "application/x-www-form-urlencoded; charset=utf-8"


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "journaled"),
    [
        ("POST", "/", {"X-Amz-Target": "AmazonSQS.SendMessage", "Content-Type": JSON}, b"{}", True),
        ("POST", "/", {"X-Amz-Target": "AmazonSQS.DeleteMessageBatch", "Content-Type": JSON}, b"{}", True),
        ("POST", "/", {"X-Amz-Target": "AmazonSQS.ReceiveMessage", "Content-Type": JSON}, b"{}", False),
        ("POST", "/", {"X-Amz-Target": "AmazonSQS.GetQueueAttributes", "Content-Type": JSON}, b"{}", False),
        ("POST", "/", {"X-Amz-Target": "DynamoDB_20120810.PutItem", "Content-Type": JSON}, b"{}", True),
        ("POST", "/", {"X-Amz-Target": "DynamoDB_20120810.TransactWriteItems"}, b"{}", True),
        ("POST", "/", {"X-Amz-Target": "DynamoDB_20120810.BatchGetItem"}, b"{}", False),
        ("POST", "/", {"X-Amz-Target": "DynamoDB_20120810.Query"}, b"{}", False),
        ("POST", "/", {"x-amz-target": "secretsmanager.GetSecretValue"}, b"{}", False),
        ("POST", "/", {"Content-Type": FORM}, b"Action=Publish&TopicArn=t&Message=m", True),
        ("POST", "/", {"Content-Type": FORM}, b"Action=ListSubscriptionsByTopic&TopicArn=t", False),
        ("PUT", "/bucket/key", {}, b"bytes", True),
        ("DELETE", "/bucket/key", {}, b"", True),
        ("GET", "/bucket/key", {}, b"", False),
        ("POST", "/schedules/reminder", {"Content-Type": "application/json"}, b"{}", True),
        ("POST", "/moto-api/reset", {}, b"", False),
        ("POST", "/", {"X-Amz-Target": "AmazonSQS.SomethingNew"}, b"{}", True),  # unknown: journaled
    ],
)
def test_state_changes_are_journaled_and_reads_are_not(
    method: str, path: str, headers: dict[str, str], body: bytes, journaled: bool
) -> None:
    assert changes_state(method, path, headers, body) is journaled


def test_segments_set_aside_with_their_snapshot_are_never_replayed(tmp_path: Path) -> None:
    """`up --fresh` and a corrupt state file set the snapshot aside; its journal must go with it, or the
    next start would replay changes onto an empty API."""
    state = tmp_path / "aws-state.pickle"
    for number in (3, 4):
        (tmp_path / f"aws-state.pickle.journal.{number}").write_text("{}\n")
    journal = Journal(state)
    assert journal.segment == 5  # a new start writes after the segments it found
    moved = journal.move_aside("before-fresh")
    assert len(moved) == 2
    assert all(".before-fresh-" in p.name for p in moved)
    assert Journal(state).segments_from(0) == []
