"""The chaos scenarios' pipeline (one for the session): every stage a process, all four platform
channels on the fake APIs, the AWS API behind an outage proxy, a watchdog restarting what dies
(see harness.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.chaos.harness import ChaosPipeline, start_chaos, stop_chaos
from tests.conftest import make_bus


@pytest.fixture(scope="session")
def chaos(aws_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosPipeline]:
    """One pipeline for every chaos scenario; each uses sessions of its own and leaves it running."""
    running = start_chaos(make_bus(aws_endpoint), aws_endpoint, tmp_path_factory.mktemp("chaos"))
    yield running
    codes = stop_chaos(running)
    assert all(code == 0 for _, code in codes), f"stages did not exit cleanly: {codes}"


@pytest.fixture(autouse=True)
def _fresh_scenario(request: pytest.FixtureRequest) -> None:
    """Each scenario counts its own faults."""
    if "chaos" in request.fixturenames:
        request.getfixturevalue("chaos").faults = 0
