"""Platforms deliver again: at once, as Slack retries, concurrently, and long after (past SQS's 5-minute
dedup window, which only the dispatcher's turn ledger covers: it republishes the stored answer, which
egress's sent ledger drops); and poison messages come back by replay."""

from __future__ import annotations

import threading
import time

import pytest

from tests.chaos.harness import ChaosPipeline
from tests.chaos.ledger import Ledger, marker
from tests.chaos.traffic import session_key
from tests.ops.ops_cli import clawbus

pytestmark = pytest.mark.chaos


def _answered_from_the_ledger(chaos: ChaosPipeline) -> int:
    log = (chaos.pipeline.log_dir / "dispatcher.log").read_text()
    return log.count('"event": "dispatcher.turn.republished"')


def test_duplicate_retried_and_late_deliveries_are_answered_once(chaos: ChaosPipeline) -> None:
    ledger = Ledger()
    talkers = chaos.sessions(8)
    slack = [s for s in talkers if s.startswith("sl")]
    before = _answered_from_the_ledger(chaos)

    def talk(session: str) -> None:
        for seq in range(3):
            chaos.send(ledger, session, seq)
            chaos.send(ledger, session, seq)  # the platform did not see our 200 and delivers again
            if session in slack:
                chaos.send(ledger, session, seq, retry_num=1)  # X-Slack-Retry-Num: 1
            racing = [threading.Thread(target=chaos.send, args=(ledger, session, seq)) for _ in range(2)]
            for thread in racing:
                thread.start()
            for thread in racing:
                thread.join()

    threads = [threading.Thread(target=talk, args=(s,)) for s in talkers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    verdict = chaos.settle(ledger)
    assert verdict.ok, verdict
    # Late: every message again now that its SQS message is long deleted and the chaos API's 2 s
    # deduplication window (SQS's 5 minutes) is over; only the turn ledger stops it.
    time.sleep(2.5)
    for session in talkers:
        for seq in range(3):
            assert chaos.send(ledger, session, seq) == 200
    resent = 3 * len(talkers) * 4 + 3 * len(slack)
    chaos.faults += resent
    verdict = chaos.settle(ledger, quiet_s=3)
    chaos.report("duplicates-and-late", verdict, ledger)
    assert verdict.ok, verdict
    assert _answered_from_the_ledger(chaos) - before >= 3 * len(talkers)  # every late one caught there


def test_poison_goes_to_the_dlq_with_its_reason_and_replay_after_the_fix_answers_once(
    chaos: ChaosPipeline,
) -> None:
    ledger = Ledger()
    poisoned, gone, fine = chaos.sessions(3, channels=("telegram",))
    chaos.agent_fault(poisoned, error="ValidationException", times=-1)  # every turn of it is refused
    ledger.expect_dead(poisoned, 0, "AgentRejected")
    chaos.fake.fail_next(
        "telegram",
        400,
        {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
        times=100,
        match=marker(gone, 0),
    )
    chaos.faults += 1
    ledger.expect_dead(gone, 0, "TargetGone")
    for session in (poisoned, gone, fine):
        chaos.send(ledger, session, 0)
    verdict = chaos.settle(ledger)
    assert verdict.ok, verdict

    chaos.clear_agent_faults()  # the fix
    chaos.fake.clear_failures()
    for queue, session in (("inbound", poisoned), ("egress-telegram", gone)):
        ran = clawbus(chaos.bus, chaos.data_dir, "dlq", "replay", queue, "--session", session_key(session))
        assert ran.code == 0, ran.err
    ledger.replayed(poisoned, 0)
    ledger.replayed(gone, 0)
    verdict = chaos.settle(ledger, quiet_s=3)
    chaos.report("poison-replay", verdict, ledger)
    assert verdict.ok, verdict
