"""The chaos scenarios' pipeline (one for the session): every stage a process, all four platform
channels on the fake APIs, the AWS API behind an outage proxy, a watchdog restarting what dies
(see harness.py)."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from tests.chaos.harness import LONG_RUN_ENV, ChaosPipeline, start_chaos, stop_chaos


@pytest.fixture(scope="session")
def chaos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosPipeline]:
    """One pipeline for every chaos scenario, on a loopback AWS API of its own (one scenario kills it);
    each scenario uses sessions of its own and leaves it running."""
    running = start_chaos(tmp_path_factory.mktemp("chaos"))
    yield running
    codes = stop_chaos(running)
    assert all(code == 0 for _, code in codes), f"stages did not exit cleanly: {codes}"


@pytest.fixture(scope="module")
def long_chaos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosPipeline]:
    """A pipeline of its own for the long form, with AgentCore's production-like read timeout."""
    running = start_chaos(tmp_path_factory.mktemp("long-chaos"), LONG_RUN_ENV)
    yield running
    codes = stop_chaos(running)
    assert all(code == 0 for _, code in codes), f"stages did not exit cleanly: {codes}"


@pytest.fixture(autouse=True)
def _fresh_scenario(request: pytest.FixtureRequest) -> None:
    """Each scenario counts its own faults."""
    for name in ("chaos", "long_chaos"):
        if name in request.fixturenames:
            request.getfixturevalue(name).faults = 0


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A seeded scenario runs `--chaos-repeat` times (default once), each run with its own seed."""
    if "chaos_seed" in metafunc.fixturenames:
        runs = max(1, int(metafunc.config.getoption("chaos_repeat")))
        metafunc.parametrize("chaos_run", range(runs), ids=[f"run{i}" for i in range(runs)])


@pytest.fixture
def chaos_seed(chaos_run: int, request: pytest.FixtureRequest) -> int:
    """The seed of a seeded scenario's random choices: `--chaos-seed` replays one, else a fresh one per run
    (drawn when the test runs, so every xdist worker collects the same tests)."""
    del chaos_run
    given = request.config.getoption("chaos_seed")
    return int(given) if given is not None else random.SystemRandom().randrange(1, 2**31)
