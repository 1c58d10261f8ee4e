"""Faults outside the stages: the AWS API unreachable, AgentCore misbehaving, platforms refusing or
slow, platforms delivering twice (at once, as retries, and long after), and poison messages replayed."""

from __future__ import annotations

import threading

import pytest

from tests.chaos.harness import ChaosPipeline
from tests.chaos.ledger import Ledger, marker

pytestmark = pytest.mark.chaos


def _settled_ok(chaos: ChaosPipeline, scenario: str, ledger: Ledger, timeout: float = 90) -> None:
    verdict = chaos.settle(ledger, timeout=timeout)
    chaos.report(scenario, verdict, ledger)
    assert verdict.ok, verdict


def _aws_outage(chaos: ChaosPipeline, seconds: float, sessions: int, messages: int) -> None:
    ledger = Ledger()
    talkers = chaos.sessions(sessions)
    deaths = sum(s.deaths for s in chaos.board().stages)
    sender = threading.Thread(target=chaos.converse, args=(ledger, talkers, messages))
    sender.start()
    threading.Event().wait(0.5)
    chaos.proxy.outage(seconds)
    chaos.faults += 1
    sender.join()
    _settled_ok(chaos, f"aws-outage {seconds:.0f}s", ledger, timeout=120)
    assert chaos.proxy.refused > 0  # the outage was felt
    assert sum(s.deaths for s in chaos.board().stages) == deaths  # stages rode it out, none crashed


def test_the_aws_api_unreachable_for_a_while_loses_nothing(chaos: ChaosPipeline) -> None:
    _aws_outage(chaos, 5, sessions=8, messages=3)


@pytest.mark.slow
def test_a_longer_aws_outage_under_more_load(chaos: ChaosPipeline) -> None:
    _aws_outage(chaos, 20, sessions=16, messages=5)


RETRYABLE_AGENT_FAULTS = [
    {"error": "ThrottlingException", "times": 2},
    {"error": "InternalServerException", "times": 2},
    {"malformed": True, "times": 1},
    {"delay_s": 6, "times": 1},  # longer than the dispatcher's read timeout: a timeout, retried
    {"delay_s": 600, "times": 1},  # a turn that hangs
]


def test_agent_errors_are_retried_or_dead_lettered_with_the_reason(chaos: ChaosPipeline) -> None:
    ledger = Ledger()
    talkers = chaos.sessions(len(RETRYABLE_AGENT_FAULTS) + 3)
    for session, rule in zip(talkers, RETRYABLE_AGENT_FAULTS, strict=False):
        chaos.agent_fault(session, **rule)
    doomed = talkers[len(RETRYABLE_AGENT_FAULTS)]
    chaos.agent_fault(doomed, error="ValidationException", times=1)
    ledger.expect_dead(doomed, 0, "AgentRejected")
    chaos.converse(ledger, talkers, 2)
    _settled_ok(chaos, "agent-faults", ledger)


def test_platform_throttling_errors_and_slowness_lose_and_double_nothing(chaos: ChaosPipeline) -> None:
    ledger = Ledger()
    tg, sl, dc, wa, tg_gone, sl_gone = chaos.sessions(6)
    fake = chaos.fake
    throttled = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1"}
    fake.fail_next(
        "telegram",
        429,
        {**throttled, "parameters": {"retry_after": 1}},
        {"Retry-After": "1"},
        times=2,
        match=marker(tg, 0),
    )
    fake.fail_next(
        "slack", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}, match=marker(sl, 1)
    )
    fake.fail_next("discord", 502, {"message": "Bad Gateway"}, times=2, match=marker(dc, 0))
    fake.fail_next(
        "whatsapp",
        500,
        {"error": {"code": 2, "message": "Service temporarily unavailable"}},
        match=marker(wa, 0),
    )
    fake.slow_next("whatsapp", 2.0, times=2)
    fake.fail_next(
        "telegram",
        403,
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
        match=marker(tg_gone, 0),
    )
    fake.fail_next("slack", 200, {"ok": False, "error": "channel_not_found"}, match=marker(sl_gone, 1))
    chaos.faults += 2 + 1 + 2 + 1 + 2 + 1 + 1
    ledger.expect_dead(tg_gone, 0, "TargetGone")
    ledger.expect_dead(sl_gone, 1, "TargetGone")
    chaos.converse(ledger, [tg, sl, dc, wa, tg_gone, sl_gone], 3)
    _settled_ok(chaos, "platform-faults", ledger)
