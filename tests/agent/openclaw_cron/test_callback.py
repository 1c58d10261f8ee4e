"""The cron callback the OpenClaw plugin calls, on the loopback AWS API: a job lands in clawbus's cron
service for the running turn, with the delivery rules and tool policy of the native cron tool."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from clawbus.agent.engines.openclaw.active_turns import ActiveTurns
from clawbus.agent.engines.openclaw.cron.callback import CronCallback, serve_cron_callback
from clawbus.agent.tools.scope import Route, TurnScope
from clawbus.bus.clients import CronClients, open_stage_clients
from clawbus.bus.settings import Settings
from clawbus.storage.cron.service import CronService, connect
from tests.conftest import Bus

JOB = {
    "name": "stretch",
    "schedule": {"kind": "every", "everyMs": 3_600_000},
    "payload": {"kind": "agentTurn", "message": "stand up"},
}
WEBCHAT = TurnScope(
    session_key="agent:main:main", agent_id="main", trusted=True, route=Route("webchat", "default", "conv-1")
)
GROUP = TurnScope(
    session_key="agent:main:telegram:group:-100777",
    agent_id="main",
    route=Route("telegram", "default", "-100777"),
)


def settings_for(bus: Bus) -> Settings:
    return Settings.model_validate(
        {"aws": {"endpoint_url": bus.endpoint, "region": "us-east-1"}, "bus": {"prefix": bus.prefix}}
    )


@pytest.fixture
async def served(bus: Bus) -> AsyncIterator[tuple[CronCallback, ActiveTurns, CronService]]:
    settings = settings_for(bus)
    turns = ActiveTurns()
    async with (
        serve_cron_callback(settings, turns) as callback,
        open_stage_clients(settings, CronClients) as clients,
    ):
        yield callback, turns, await connect(settings, clients)


async def post(callback: CronCallback, body: dict[str, Any], token: str | None = None) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(
            callback.url, json=body, headers={"authorization": f"Bearer {token or callback.token}"}
        )


async def test_a_job_added_in_a_webchat_turn_is_scheduled_and_announces_back_there(served: Any) -> None:
    callback, turns, service = served
    with turns.running(WEBCHAT):
        added = await post(
            callback, {"sessionKey": WEBCHAT.session_key, "params": {"action": "add", "job": JOB}}
        )
        listed = await post(callback, {"sessionKey": WEBCHAT.session_key, "params": {"action": "list"}})
    assert added.status_code == 200
    assert added.json()["ok"] is True, added.json()
    [job] = await service.list_jobs()
    assert job.name == "stretch"
    assert job.delivery is not None
    assert (job.delivery.channel, job.delivery.to) == ("webchat", "conv-1")
    assert [j["name"] for j in listed.json()["jobs"]] == ["stretch"]


async def test_a_group_turn_may_not_use_cron_by_default(served: Any) -> None:
    callback, turns, service = served
    with turns.running(GROUP):
        refused = await post(
            callback, {"sessionKey": GROUP.session_key, "params": {"action": "add", "job": JOB}}
        )
    assert refused.json()["ok"] is False
    assert "not available in this conversation" in refused.json()["error"]
    assert await service.list_jobs(include_disabled=True) == []


async def test_a_strangers_dm_turn_may_not_use_cron_by_default(served: Any) -> None:
    callback, turns, service = served
    stranger = TurnScope(session_key="agent:main:telegram:direct:42", agent_id="main", trusted=False)
    with turns.running(stranger):
        refused = await post(
            callback, {"sessionKey": stranger.session_key, "params": {"action": "add", "job": JOB}}
        )
    assert refused.json()["ok"] is False
    assert "untrusted" in refused.json()["error"]
    assert await service.list_jobs(include_disabled=True) == []


async def test_a_call_for_a_session_with_no_running_turn_is_refused(served: Any) -> None:
    callback, _, service = served
    refused = await post(callback, {"sessionKey": "agent:main:main", "params": {"action": "add", "job": JOB}})
    assert refused.json()["ok"] is False
    assert await service.list_jobs(include_disabled=True) == []


async def test_a_caller_without_the_token_gets_401_and_changes_nothing(served: Any) -> None:
    callback, turns, service = served
    with turns.running(WEBCHAT):
        response = await post(
            callback,
            {"sessionKey": WEBCHAT.session_key, "params": {"action": "add", "job": JOB}},
            token="guess",
        )
    assert response.status_code == 401
    assert await service.list_jobs(include_disabled=True) == []
