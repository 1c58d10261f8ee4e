"""Derived ids always fit SQS's and AgentCore's limits, and one session is always one FIFO group."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from clawbus.schemas import deduplication_id, message_group_id, reply_id, runtime_session_id
from clawbus.schemas.ids import is_valid_sqs_id

SQS_ID = re.compile(r"^[!-~]{1,128}$")
RUNTIME_SESSION = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{32,99}$")


@given(st.text(min_size=1, max_size=600))
def test_group_id_fits_sqs_and_is_stable(key: str) -> None:
    group = message_group_id(key)
    assert SQS_ID.match(group)
    assert group == message_group_id(key)


def test_readable_keys_are_their_own_group_and_others_are_hashed() -> None:
    assert message_group_id("agent:main:telegram:group:-100123") == "agent:main:telegram:group:-100123"
    long_key = "agent:main:slack:channel:" + "c" * 200
    assert message_group_id(long_key).startswith("h:")
    assert message_group_id("agent:main:direct:zoë").startswith("h:")
    assert message_group_id(long_key) != message_group_id(long_key + "x")


@given(st.text(min_size=1, max_size=600))
def test_dedup_id_fits_sqs(event_id: str) -> None:
    assert is_valid_sqs_id(deduplication_id(event_id))


@given(st.text(min_size=1, max_size=600), st.integers(min_value=0, max_value=10**6))
def test_runtime_session_id_fits_agentcore(key: str, epoch: int) -> None:
    session = runtime_session_id(key, epoch)
    assert RUNTIME_SESSION.match(session)
    assert session == runtime_session_id(key, epoch)


def test_a_reset_epoch_starts_a_new_runtime_session() -> None:
    assert runtime_session_id("agent:main:main", 0) != runtime_session_id("agent:main:main", 1)


@given(st.lists(st.text(min_size=1, max_size=100), min_size=1, max_size=20))
def test_reply_id_is_stable_for_the_same_events_and_fits_sqs(events: list[str]) -> None:
    assert reply_id(events) == reply_id(list(events))
    assert SQS_ID.match(reply_id(events))
