"""The send-once decision (`egress/core/send_once.py`): every ledger record state against every answer a
platform can give about an interrupted send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clawbus.channels.contracts import Outcome, Reconciled, SendIntent
from clawbus.egress.core.send_once import (
    Action,
    Adopt,
    Ask,
    ChunkRecord,
    HeldIntent,
    Post,
    SendReceipt,
    Skip,
    Wait,
    decide,
)

NOW = datetime(2026, 12, 4, 22, 0, tzinfo=UTC)
INTENT = SendIntent("sent:slack:r1:0.0", "nonce-1", NOW - timedelta(seconds=90))
RECORDS: dict[str, ChunkRecord] = {
    "absent": None,
    "receipt": SendReceipt(INTENT.key, "1733349600.000100"),
    "live intent": HeldIntent(INTENT, lease_until=NOW + timedelta(seconds=20)),
    "interrupted intent": HeldIntent(INTENT, lease_until=NOW - timedelta(seconds=1)),
}
ANSWERS: dict[str, Reconciled | None] = {
    "not asked": None,
    "sent": Reconciled(Outcome.SENT, "1733349601.000200"),
    "not sent": Reconciled(Outcome.NOT_SENT),
    "repeatable": Reconciled(Outcome.REPEATABLE),
    "unknown": Reconciled(Outcome.UNKNOWN),
}
EXPECTED: dict[tuple[str, str], Action] = {
    **{("absent", a): Post("new") for a in ANSWERS},
    **{("receipt", a): Skip("1733349600.000100") for a in ANSWERS},
    **{("live intent", a): Wait(NOW + timedelta(seconds=20)) for a in ANSWERS},
    ("interrupted intent", "not asked"): Ask(INTENT),
    ("interrupted intent", "sent"): Adopt("1733349601.000200"),
    ("interrupted intent", "not sent"): Post("not_sent"),
    ("interrupted intent", "repeatable"): Post("repeatable"),
    ("interrupted intent", "unknown"): Post("unknown", warn=True),
}


@pytest.mark.parametrize(("record", "answer"), list(EXPECTED))
def test_each_record_state_and_reconcile_answer_leads_to_one_action(record: str, answer: str) -> None:
    assert decide(RECORDS[record], NOW, ANSWERS[answer]) == EXPECTED[(record, answer)]


def test_only_an_unknown_answer_posts_with_a_warning() -> None:
    warned = [key for key, action in EXPECTED.items() if isinstance(action, Post) and action.warn]
    assert warned == [("interrupted intent", "unknown")]


def test_a_lease_that_ends_exactly_now_is_interrupted() -> None:
    held = HeldIntent(INTENT, lease_until=NOW)
    assert decide(held, NOW) == Ask(INTENT)
