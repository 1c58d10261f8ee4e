"""Whether the loopback AWS API's S3 keeps a conditional write atomic under concurrent requests, as S3
does: of several PUTs racing on one condition exactly one wins, the others get 412 (moto 5.2.5 checked
the condition and stored the object as two steps, so racing writers could all win: see
`local.aws_s3.serialise_object_writes`)."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from clawbus.bus.settings import BusSettings
from clawbus.local.aws_s3 import serialise_object_writes
from tests.conftest import Bus

WRITERS = 8  # within the test client's connection pool (10), so all of them are in flight at once


def race(writers: int, put: Any) -> list[bool]:
    """Whether each of `writers` threads' `put(n)` won, all released at once (the others must get 412)."""
    start = threading.Barrier(writers)

    def attempt(n: int) -> str:
        start.wait()
        try:
            put(n)
        except ClientError as exc:
            return str(exc.response["Error"]["Code"])
        return "won"

    with ThreadPoolExecutor(writers) as pool:
        outcomes = list(pool.map(attempt, range(writers)))
    assert set(outcomes) <= {"won", "PreconditionFailed"}, outcomes
    return [outcome == "won" for outcome in outcomes]


def test_two_writers_between_moto_check_and_write_cannot_both_win(monkeypatch: pytest.MonkeyPatch) -> None:
    # Deterministic: each writer that reaches moto's store waits (up to a second) for the other to get
    # there too. Without the lock both pass the If-Match check first and both replace the same version;
    # with it the second is checked only after the first has written, and gets 412.
    from moto import mock_aws
    from moto.s3.models import S3Backend
    from moto.s3.responses import S3Response

    for name in ("_key_response_put", "_key_response_delete", "_key_response_post"):
        monkeypatch.setattr(S3Response, name, getattr(S3Response, name))  # undone after the test
    serialise_object_writes()
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="race-bucket")
        base = s3.put_object(Bucket="race-bucket", Key="log", Body=b"base\n")["ETag"]
        both_checked = threading.Barrier(2, timeout=1)
        store = S3Backend.put_object

        def store_when_both_checked(self: S3Backend, *args: Any, **kwargs: Any) -> Any:
            with contextlib.suppress(threading.BrokenBarrierError):
                both_checked.wait()
            return store(self, *args, **kwargs)

        monkeypatch.setattr(S3Backend, "put_object", store_when_both_checked)
        lines = [b"base\none\n", b"base\ntwo\n"]
        won = race(2, lambda n: s3.put_object(Bucket="race-bucket", Key="log", Body=lines[n], IfMatch=base))
        assert won.count(True) == 1
        assert s3.get_object(Bucket="race-bucket", Key="log")["Body"].read() == lines[won.index(True)]


def test_of_writers_racing_on_the_loopback_api_exactly_one_wins(bus: Bus) -> None:
    s3, bucket = bus.client("s3"), BusSettings(prefix=bus.prefix).bucket_name()
    base = s3.put_object(Bucket=bucket, Key="race", Body=b"base\n")["ETag"]
    lines = {n: f"base\nline {n}\n".encode() for n in range(WRITERS)}
    won = race(WRITERS, lambda n: s3.put_object(Bucket=bucket, Key="race", Body=lines[n], IfMatch=base))
    assert won.count(True) == 1
    assert s3.get_object(Bucket=bucket, Key="race")["Body"].read() == lines[won.index(True)]
    created = race(WRITERS, lambda n: s3.put_object(Bucket=bucket, Key="new", Body=b"x", IfNoneMatch="*"))
    assert created.count(True) == 1
