"""The cron tool, driven by the model in real agent turns, on the loopback AWS API: a job delivers only to
the conversation that created it or to the owner, and one without a target announces back there."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from clawbus.agent.cron_delivery import DeliveryRefused, checked_delivery, owner_ids
from clawbus.agent.cron_tool import cron_tool
from clawbus.agent.models import ScriptedModel, ToolCall, ToolResult, assistant
from clawbus.agent.tools.scope import Route, TurnScope
from clawbus.bus.clients import CronClients, open_stage_clients
from clawbus.bus.settings import Settings, ToolSettings
from clawbus.schemas import (
    Access,
    AgentRequest,
    EventKind,
    Handoff,
    InboundEvent,
    Peer,
    PeerKind,
    ReplyTarget,
    parse_agent_response,
    parse_inbound,
)
from clawbus.storage.cron.service import CronService, connect
from tests.agent.conftest import SESSION_ID
from tests.conftest import Bus
from tests.helpers import drain_queue

IN_AN_HOUR = {"kind": "every", "everyMs": 3_600_000}
OWNER_DM = "agent:main:main"
GROUP = "agent:main:telegram:group:-100777"
# Groups may use cron here (by default they may not), so a stranger in one can try to misdirect a job.
GROUPS_MAY_USE_CRON = ToolSettings.model_validate({"untrusted": {"also_allow": ["cron"]}})
DEFAULT_POLICY = ToolSettings()


def job(**fields: Any) -> dict[str, Any]:
    return {
        "name": "stretch",
        "schedule": IN_AN_HOUR,
        "payload": {"kind": "agentTurn", "message": "stand up"},
        **fields,
    }


def message(
    channel: str, chat: str, *, kind: PeerKind = PeerKind.DIRECT, access: Access = Access.OWNER, **fields: Any
) -> InboundEvent:
    return InboundEvent(
        event_id=f"{channel}:{chat}",
        channel=channel,
        session_key=GROUP if kind is PeerKind.GROUP else OWNER_DM,
        peer=Peer(kind=kind, id=chat),
        text="please schedule it",
        access=access,
        **fields,
    )


@dataclass
class Cron:
    """An agent whose model makes one cron call per turn, and the cron service to look at the result."""

    bus: Bus
    service: CronService
    call: Callable[..., Any]

    def fired(self) -> list[InboundEvent]:
        """Events the `run` action put on the inbound queue (what the dispatcher would answer)."""
        sqs = self.bus.client("sqs")
        url = self.bus.queue_url(f"{self.bus.prefix}-inbound.fifo")
        return [parse_inbound(json.dumps(body)) for body in drain_queue(sqs, url, expect=1)]


@pytest.fixture
async def cron(bus: Bus, make_agent) -> AsyncIterator[Cron]:  # type: ignore[no-untyped-def]
    settings = Settings.model_validate(
        {
            "aws": {"endpoint_url": bus.endpoint, "region": "us-east-1"},
            "bus": {"prefix": bus.prefix},
            "telegram": {"allow_from": ["tg:1001", "*"]},
            "whatsapp": {"allow_from": ["+4915112345678"]},
        }
    )
    async with (
        cron_tool(settings) as tool,
        open_stage_clients(settings, CronClients) as clients,
    ):
        assert tool is not None
        turns = itertools.count(1)

        async def call(
            event: InboundEvent, args: dict[str, Any], policy: ToolSettings = DEFAULT_POLICY
        ) -> Any:
            model = ScriptedModel([assistant("", ToolCall("c1", "cron", args)), assistant("done")])
            agent = make_agent(model, [tool], tool_policy=policy)
            event = event.model_copy(update={"event_id": f"{event.event_id}:{next(turns)}"})  # a new turn
            request = AgentRequest(
                session_key=event.session_key, reply_id=f"rp-{event.event_id}", events=(event,)
            )
            response = await agent.client.post(
                "/invocations",
                content=request.to_wire(),
                headers={"X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": SESSION_ID},
            )
            assert parse_agent_response(response.content).parts == ("done",)
            result = model.calls[1].messages[-1].blocks[0]
            assert isinstance(result, ToolResult)
            return json.loads(result.text)

        yield Cron(bus, await connect(settings, clients), call)


async def test_a_stranger_in_a_group_cannot_schedule_into_another_chat(cron: Cron) -> None:
    stranger = message("telegram", "-100777", kind=PeerKind.GROUP, access=Access.GROUP)
    elsewhere = job(delivery={"mode": "announce", "channel": "telegram", "to": "-100999"})
    refused = await cron.call(stranger, {"action": "add", "job": elsewhere}, GROUPS_MAY_USE_CRON)
    assert refused["ok"] is False
    assert "cron delivery to telegram:-100999 is not allowed" in refused["error"]
    assert "this conversation (telegram:-100777)" in refused["error"]
    assert "their id on telegram, whatsapp" in refused["error"]
    assert await cron.service.list_jobs(include_disabled=True) == []


async def test_a_job_may_deliver_to_its_own_conversation_or_the_owners_dms(cron: Cron) -> None:
    group = message("telegram", "-100777", kind=PeerKind.GROUP, access=Access.GROUP)
    here = {"mode": "announce", "channel": "telegram", "to": "-100777"}
    owner = {"mode": "announce", "channel": "whatsapp", "to": "4915112345678"}
    for name, delivery in (("here", here), ("owner", owner)):
        added = await cron.call(
            group, {"action": "add", "job": job(name=name, delivery=delivery)}, GROUPS_MAY_USE_CRON
        )
        assert added["ok"] is True, added
    stored = {j.name: j.delivery for j in await cron.service.list_jobs()}
    assert stored["here"] is not None
    assert (stored["here"].channel, stored["here"].to, stored["here"].account_id) == (
        "telegram",
        "-100777",
        "default",
    )
    assert stored["owner"] is not None
    assert (stored["owner"].channel, stored["owner"].to) == ("whatsapp", "4915112345678")


async def test_a_job_without_a_target_announces_back_to_the_chat_and_thread_it_came_from(cron: Cron) -> None:
    dm_thread = message(
        "slack", "D42", access=Access.ALLOWED, reply_to=ReplyTarget(chat_id="D42", thread_id="171.5")
    )
    added = await cron.call(dm_thread, {"action": "add", "job": job()})
    assert added["ok"] is True, added
    assert added["job"]["delivery"] == {
        "mode": "announce",
        "channel": "slack",
        "to": "D42",
        "accountId": "default",
        "threadId": "171.5",
        "bestEffort": False,
    }
    ran = await cron.call(dm_thread, {"action": "run", "jobId": added["job"]["id"]})
    assert ran["ok"] is True, ran
    [fired] = cron.fired()
    assert fired.kind is EventKind.CRON
    assert fired.delivery == Handoff(
        mode="announce", channel="slack", account_id="default", to="D42", thread_id="171.5"
    )


async def test_webchat_jobs_come_back_to_webchat_and_scheduled_turns_keep_the_last_route(cron: Cron) -> None:
    webchat = message("webchat", "conv-1")
    added = await cron.call(webchat, {"action": "add", "job": job(name="web")})
    assert (added["job"]["delivery"]["channel"], added["job"]["delivery"]["to"]) == ("webchat", "conv-1")
    scheduled = InboundEvent(
        event_id="cron:x:1", kind=EventKind.CRON, channel="cron", session_key="agent:main:cron:x"
    )
    from_cron = await cron.call(scheduled, {"action": "add", "job": job(name="nested")})
    assert from_cron["ok"] is True, from_cron
    assert "delivery" not in from_cron["job"]  # announced to the owner's last route


async def test_an_update_cannot_redirect_a_job_nor_swap_its_thread(cron: Cron) -> None:
    topic = message(
        "telegram",
        "-100777",
        kind=PeerKind.GROUP,
        access=Access.GROUP,
        reply_to=ReplyTarget(chat_id="-100777", thread_id="7"),
    )

    async def act(args: dict[str, Any]) -> Any:
        return await cron.call(topic, args, GROUPS_MAY_USE_CRON)

    added = await act({"action": "add", "job": job()})
    job_id = added["job"]["id"]
    redirect = {"delivery": {"mode": "announce", "channel": "discord", "to": "555"}}
    refused = await act({"action": "update", "jobId": job_id, "patch": redirect})
    assert refused["ok"] is False
    assert "cron delivery to discord:555 is not allowed" in refused["error"]
    other_thread = {"delivery": {"channel": "telegram", "to": "-100777", "thread_id": "8"}}
    refused = await act({"action": "update", "jobId": job_id, "patch": other_thread})
    assert refused["ok"] is False
    stored = await cron.service.get(job_id)
    assert stored.delivery is not None
    assert (stored.delivery.channel, stored.delivery.to, stored.delivery.thread_id) == (
        "telegram",
        "-100777",
        "7",
    )
    renamed = await act({"action": "update", "jobId": job_id, "patch": {"name": "walk"}})
    assert renamed["ok"] is True, renamed
    assert (await cron.service.get(job_id)).delivery == stored.delivery


HERE = Route("telegram", "default", "-100777", "7")
OWNERS = owner_ids(
    Settings.model_validate(
        {
            "telegram": {"allow_from": ["tg:1001", "*"]},
            "whatsapp": {"allow_from": ["+491"]},
            "slack": {"allow_from": ["*"]},
        }
    )
)


@pytest.mark.parametrize(
    ("delivery", "scope", "stored"),
    [
        ({"mode": "none"}, TurnScope(GROUP, "main", route=HERE), {"mode": "none"}),
        ({"channel": "last"}, TurnScope(GROUP, "main", route=HERE), {"channel": "last"}),
        (
            {"channel": "telegram", "to": "@1001"},
            TurnScope(GROUP, "main"),
            {"channel": "telegram", "to": "@1001"},
        ),
        (
            {"channel": "whatsapp", "to": "491"},
            TurnScope(GROUP, "main"),
            {"channel": "whatsapp", "to": "491"},
        ),
        (None, TurnScope("agent:main:cron:x", "main", scheduled=True, route=HERE), None),
        (
            {"channel": "telegram", "to": "-100777", "threadId": "7"},
            TurnScope("agent:main:cron:x", "main", scheduled=True, route=HERE),
            {
                "mode": "announce",
                "channel": "telegram",
                "to": "-100777",
                "accountId": "default",
                "threadId": "7",
            },
        ),
    ],
)
def test_what_a_job_may_deliver_to(delivery: Any, scope: TurnScope, stored: Any) -> None:
    assert checked_delivery(delivery, scope, OWNERS) == stored


@pytest.mark.parametrize(
    ("delivery", "message"),
    [
        ({"to": "1001"}, "'to' 1001 without a channel is not allowed"),
        ({"channel": "slack", "to": "U1"}, "slack:U1 is not allowed"),  # '*' in allowFrom names nobody
        ({"channel": "discord"}, "cron delivery to discord needs 'to'"),
        ({"channel": "telegram", "to": "-100777", "accountId": "other"}, "telegram:-100777 is not allowed"),
    ],
)
def test_other_targets_are_refused_naming_what_is_allowed(delivery: Any, message: str) -> None:
    with pytest.raises(DeliveryRefused, match=message) as refused:
        checked_delivery(delivery, TurnScope(GROUP, "main", route=HERE), OWNERS)
    assert "this conversation (telegram:-100777 (thread 7))" in str(refused.value)
    assert "their id on telegram, whatsapp" in str(refused.value)


# OpenClaw: `ownerAllowFrom` "is the explicit owner allowlist ... separate from `allowFrom`" and "manually
# allowlisted senders are not automatically command owners" (docs/channels/pairing.md).
OWNER_NAMED = owner_ids(
    Settings.model_validate(
        {
            "commands": {"owner_allow_from": ["wa:+4915112345678", "U0OWNER"]},
            "telegram": {"allow_from": ["1001", "2002"]},  # friends let in to talk, not the owner
        }
    )
)


@pytest.mark.parametrize(
    "delivery",
    [
        {"channel": "whatsapp", "to": "4915112345678"},  # only in ownerAllowFrom, as `wa:+…`
        {"channel": "slack", "to": "U0OWNER"},  # a bare id names the owner on every channel
    ],
)
def test_the_owner_named_in_owner_allow_from_is_a_target(delivery: dict[str, str]) -> None:
    assert checked_delivery(delivery, TurnScope(GROUP, "main", route=HERE), OWNER_NAMED) == delivery


def test_a_friend_only_in_allow_from_is_not_the_owner_once_owner_allow_from_names_one() -> None:
    with pytest.raises(DeliveryRefused, match="telegram:1001 is not allowed"):
        checked_delivery({"channel": "telegram", "to": "1001"}, TurnScope(GROUP, "main"), OWNER_NAMED)
    # Without `ownerAllowFrom`, the channel's `allowFrom` still names the owner (clawbus and OpenClaw alike).
    friends = owner_ids(Settings.model_validate({"telegram": {"allow_from": ["1001", "2002"]}}))
    assert checked_delivery({"channel": "telegram", "to": "1001"}, TurnScope(GROUP, "main"), friends)
