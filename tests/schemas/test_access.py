"""Who a turn acts for: only the owner and allowed DM senders are trusted; an old envelope is not."""

from __future__ import annotations

import pytest

from clawbus.schemas import Access, EventKind, InboundEvent, parse_inbound, trusted


def _event(**fields: object) -> InboundEvent:
    return InboundEvent.model_validate(
        {"event_id": "e1", "channel": "telegram", "session_key": "k", **fields}
    )


@pytest.mark.parametrize(
    ("access", "expected"),
    [
        (Access.OWNER, True),
        (Access.ALLOWED, True),
        (Access.OPEN, False),
        (Access.GROUP, False),
        (None, False),
    ],
)
def test_a_message_is_trusted_only_from_the_owner_or_an_allowed_sender(
    access: Access | None, expected: bool
) -> None:
    assert trusted(_event(access=access)) is expected


@pytest.mark.parametrize("kind", [EventKind.HEARTBEAT, EventKind.CRON, EventKind.SYSTEM])
def test_scheduled_events_act_for_the_owner(kind: EventKind) -> None:
    assert trusted(_event(kind=kind))


def test_an_envelope_from_an_older_producer_has_no_access_and_is_not_trusted() -> None:
    event = parse_inbound('{"schema_version": 1, "event_id": "e", "channel": "slack", "session_key": "k"}')
    assert event.access is None
    assert not trusted(event)
    assert parse_inbound(_event(access="allowed").to_wire()).access is Access.ALLOWED
