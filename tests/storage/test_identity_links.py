"""`/link` records against the loopback AWS API: codes expire after 10 minutes and work once, attempts
are counted per sender per window, links resolve. Time is passed in (bus/clock.py), never slept."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from clawbus.bus.clients import IngressClients, open_stage_clients
from clawbus.bus.settings import Settings
from clawbus.bus.topology import pairing_table_name
from clawbus.storage.backends import record_store
from clawbus.storage.identity_links import (
    MAX_ATTEMPTS,
    TTL_ATTRIBUTE,
    IdentityLinkStore,
    read_code,
    show_code,
    within_rate,
)
from tests.conftest import Bus

NOW = datetime(2026, 12, 5, 12, 0, 1, tzinfo=UTC)  # one second into a 10-minute window


def digits(*codes: str) -> Iterator[int]:
    """A `randbelow` stand-in that draws the digits of `codes` in turn."""
    return iter(int(d) for d in itertools.chain.from_iterable(codes))


@pytest.fixture
async def records(bus: Bus) -> AsyncIterator[object]:
    async with open_stage_clients(Settings(aws=bus.aws), IngressClients) as clients:
        yield record_store(clients.dynamodb, pairing_table_name(bus.prefix), ttl_attribute=TTL_ATTRIBUTE)


def store(records: object, *codes: str) -> IdentityLinkStore:
    drawn = digits(*codes)
    return IdentityLinkStore(records, lambda _n: next(drawn))  # type: ignore[arg-type]


async def test_a_code_is_redeemed_once_and_carries_the_issuers_identity(records: object) -> None:
    links = store(records, "123456")
    issued = await links.issue("telegram", "default", "42", "42", NOW)
    assert (issued.code, show_code(issued.code)) == ("123456", "123-456")
    found = await links.redeem("123456", NOW + timedelta(minutes=1))
    assert found is not None
    assert (found.channel, found.sender, found.canonical) == ("telegram", "42", "42")
    assert await links.redeem("123456", NOW + timedelta(minutes=2)) is None  # single-use


async def test_a_code_expires_after_ten_minutes(records: object) -> None:
    links = store(records, "111111", "222222")
    await links.issue("telegram", "default", "42", "42", NOW)
    await links.issue("telegram", "default", "43", "43", NOW)
    assert await links.redeem("111111", NOW + timedelta(minutes=10)) is None
    assert await links.redeem("222222", NOW + timedelta(minutes=9, seconds=59)) is not None


async def test_of_two_concurrent_redeemers_exactly_one_wins(records: object) -> None:
    links = store(records, "333333")
    await links.issue("telegram", "default", "42", "42", NOW)
    results = await asyncio.gather(*(links.redeem("333333", NOW) for _ in range(5)))
    assert sum(r is not None for r in results) == 1


async def test_a_live_code_is_never_handed_out_twice(records: object) -> None:
    links = store(records, "444444", "444444", "555555")
    first = await links.issue("telegram", "default", "42", "42", NOW)
    second = await links.issue("whatsapp", "default", "49", "49", NOW)
    assert (first.code, second.code) == ("444444", "555555")
    # once the first has expired, its digits are free again
    again = await store(records, "444444").issue("slack", "default", "u1", "u1", NOW + timedelta(minutes=11))
    assert again.code == "444444"


async def test_attempts_are_counted_per_sender_per_window(records: object) -> None:
    links = store(records)
    counts = [await links.count_attempt("telegram", "42", NOW) for _ in range(MAX_ATTEMPTS + 1)]
    assert counts == list(range(1, MAX_ATTEMPTS + 2))
    assert [within_rate(c) for c in counts] == [True] * MAX_ATTEMPTS + [False]
    assert await links.count_attempt("telegram", "43", NOW) == 1  # another sender: own count
    assert await links.count_attempt("telegram", "42", NOW + timedelta(minutes=10)) == 1  # next window


async def test_a_link_resolves_and_a_newer_one_replaces_it(records: object) -> None:
    links = store(records)
    assert await links.canonical("whatsapp", "49", NOW) is None
    await links.link("whatsapp", "49", "42", NOW)
    assert await links.canonical("whatsapp", "49", NOW) == "42"
    await links.link("whatsapp", "49", "alice", NOW)
    assert await links.canonical("whatsapp", "49", NOW) == "alice"


def test_codes_are_read_as_people_type_them() -> None:
    assert [read_code(t) for t in ("123-456", "123 456", "123456", " 12-3456 ")] == ["123456"] * 4
    assert [read_code(t) for t in ("12345", "1234567", "abc-def", "١٢٣٤٥٦", "")] == [None] * 5


async def test_every_stored_link_is_listed_as_identity_links_name_it(records: object) -> None:
    store = IdentityLinkStore(records)  # type: ignore[arg-type]
    assert await store.links(NOW) == {}
    await store.link("telegram", "42", "42", NOW)
    await store.link("whatsapp", "+4915#1", "42", NOW)  # a '#' in a sender id stays in the id
    await store.link("slack", "u1", "alice", NOW)
    await store.link("slack", "u1", "42", NOW + timedelta(seconds=1))  # relinked: listed once, under 42
    assert await store.links(NOW) == {"42": ["slack:u1", "telegram:42", "whatsapp:+4915#1"]}
