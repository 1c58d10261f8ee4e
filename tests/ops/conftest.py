"""The ops tests' fixtures: `clawbus dashboard` as its own process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clawbus.ingress.http.token_file import read_token, token_path
from tests.conftest import Bus
from tests.helpers import free_port, stage, stage_supervisor


@pytest.fixture
def dashboard_url(bus: Bus, tmp_path: Path) -> Iterator[str]:
    """`clawbus dashboard` against this test's bus, as its own process."""
    port = free_port()
    supervisor = stage_supervisor(tmp_path / "logs", {**bus.env, "CLAWBUS_LOCAL__DATA_DIR": str(tmp_path)})
    supervisor.start(
        stage("dashboard", "dashboard.started", "dashboard", "--port", str(port), "--interval", "0.5")
    )
    # The URL `clawbus dashboard` prints: the token (made in the data dir) rides in the fragment.
    yield f"http://127.0.0.1:{port}/#token={read_token(token_path(tmp_path))}"
    codes = supervisor.stop_all()
    assert all(code == 0 for _, code in codes), codes
