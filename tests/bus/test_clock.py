"""One clock convention: aware UTC datetimes everywhere, epoch seconds only for TTL numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from clawbus.bus.clock import epoch_s, utc_now


def test_now_is_aware_utc_and_its_epoch_is_the_ttl_number_dynamodb_compares() -> None:
    now = utc_now()
    assert now.tzinfo is UTC
    assert epoch_s(datetime.fromtimestamp(1_800_000_000, UTC)) == 1_800_000_000
    berlin = timezone(timedelta(hours=1))
    assert epoch_s(datetime(2027, 1, 15, 9, 0, tzinfo=berlin)) == epoch_s(
        datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
    )


def test_a_naive_datetime_is_refused_rather_than_read_as_local_time() -> None:
    with pytest.raises(ValueError, match="naive"):
        epoch_s(datetime(2027, 1, 15, 8, 0))  # the mistake under test
