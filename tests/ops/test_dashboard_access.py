"""`clawbus dashboard` is a local surface like any other: it answers only to the run's token."""

from __future__ import annotations

import httpx

from tests.conftest import Bus


def test_the_standalone_dashboard_needs_the_runs_token(bus: Bus, dashboard_url: str) -> None:
    base, _, fragment = dashboard_url.partition("#token=")
    series = base.rstrip("/") + "/dashboard/api/series"
    refused = httpx.get(series, timeout=10)
    assert refused.status_code == 401
    assert "token" in refused.json()["error"]
    assert httpx.get(series, headers={"Authorization": "Bearer not-the-token"}, timeout=10).status_code == 401
    assert httpx.get(series, headers={"Authorization": f"Bearer {fragment}"}, timeout=10).status_code == 200
    # DNS rebinding: a page on another name pointed at 127.0.0.1 gets nothing, token or not.
    rebound = httpx.get(series, headers={"Authorization": f"Bearer {fragment}", "Host": "evil.example"})
    assert rebound.status_code == 400
