"""`clawbus route explain` prints who answers a conversation under the stored openclaw.json, and why;
`clawbus route sessions` lists each agent's stored sessions, classified.

Runs the real CLI against the loopback AWS API with a document in the config store, as an operator would.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from clawbus.storage import LocalSessionIndex, SessionEntry
from tests.conftest import Bus
from tests.pipeline.test_config_document import run_clawbus, store_document

TWO_AGENTS = """{
  agents: { entries: { home: { default: true }, work: {} } },
  bindings: [
    { agentId: "work", match: { channel: "slack", teamId: "T1" } },
    { agentId: "work", match: { channel: "discord", accountId: "*", peer: { kind: "channel", id: "C9" } } },
  ],
  session: { dmScope: "per-channel-peer" },
}"""


def test_route_explain_prints_the_agent_the_rule_and_the_session_key(bus: Bus) -> None:
    store_document(bus, TWO_AGENTS)
    slack = run_clawbus(bus, "route", "explain", "--channel", "slack", "--peer", "direct:U1", "--team", "T1")
    assert slack.returncode == 0, slack.stderr
    assert slack.stdout.splitlines() == [
        "agent: work",
        "matchedBy: binding.team (bindings[0])",
        "sessionKey: agent:work:slack:direct:u1",
    ]
    thread = run_clawbus(
        bus, "route", "explain", "--channel", "discord", "--peer", "channel:T7", "--parent", "channel:C9",
        "--thread", "T7", "--json",
    )  # fmt: skip
    found = json.loads(thread.stdout)
    assert (found["agent"], found["matchedBy"]) == ("work", "binding.peer.parent")
    assert found["sessionKey"] == "agent:work:discord:channel:c9:thread:t7"
    assert found["parentSessionKey"] == "agent:work:discord:channel:c9"
    other = json.loads(
        run_clawbus(bus, "route", "explain", "--channel", "telegram", "--peer", "42", "--json").stdout
    )
    assert (other["agent"], other["matchedBy"], other["sessionKey"]) == (
        "home",
        "default",
        "agent:home:telegram:direct:42",
    )


def test_route_explain_without_a_peer_is_bad_input(bus: Bus) -> None:
    ran = run_clawbus(bus, "route", "explain", "--channel", "slack")
    assert ran.returncode == 2
    assert "--peer" in ran.stderr


def test_route_sessions_lists_every_agents_sessions_classified(bus: Bus, tmp_path: Path) -> None:
    store_document(bus, TWO_AGENTS)
    env = {"CLAWBUS_SESSION__TRANSCRIPTS": "local", "CLAWBUS_SESSION__DIR": str(tmp_path)}
    index = LocalSessionIndex(tmp_path)
    for agent, key in [("home", "agent:home:main"), ("work", "agent:work:slack:channel:c1:thread:171.2")]:
        asyncio.run(index.update(agent, key, lambda _current: SessionEntry(session_id="s1", updated_at=1)))
    ran = run_clawbus(bus, "route", "sessions", "--json", env=env)
    assert ran.returncode == 0, ran.stderr
    rows = {(r["agent"], r["key"]): r for r in json.loads(ran.stdout)}
    assert rows[("home", "agent:home:main")]["kind"] == "main"
    work = rows[("work", "agent:work:slack:channel:c1:thread:171.2")]
    assert (work["shape"], work["kind"], work["channel"], work["thread"]) == (
        "agent",
        "channel",
        "slack",
        "171.2",
    )


def test_route_bind_sends_a_threads_messages_to_a_session_and_unbind_lets_go(bus: Bus) -> None:
    from datetime import UTC, datetime

    from clawbus.bus.clients import CronClients, open_stage_clients
    from clawbus.bus.settings import Settings
    from clawbus.bus.topology import pairing_table_name
    from clawbus.schemas.thread_binding import Conversation, ThreadBinding
    from clawbus.storage.thread_bindings import thread_binding_store

    thread = ["--channel", "discord", "--chat", "1190000000000000001"]

    async def stored() -> ThreadBinding | None:
        async with open_stage_clients(
            Settings(aws=bus.aws, bus={"prefix": bus.prefix}), CronClients
        ) as clients:
            store = thread_binding_store(clients.dynamodb, pairing_table_name(bus.prefix))
            return await store.find(
                Conversation(channel="discord", account_id="default", chat_id=thread[3]), datetime.now(UTC)
            )

    bound = run_clawbus(
        bus, "route", "bind", *thread, "--agent", "Work", "--session", "agent:work:subagent:9", "--json"
    )
    assert bound.returncode == 0, bound.stderr
    assert json.loads(bound.stdout)["agent"] == "work"
    found = asyncio.run(stored())
    assert found is not None
    assert (found.agent_id, found.session_key, found.idle_hours) == ("work", "agent:work:subagent:9", 24)
    assert run_clawbus(bus, "route", "unbind", *thread).returncode == 0
    assert asyncio.run(stored()) is None
    refused = run_clawbus(bus, "route", "bind", *thread, "--agent", "work")
    assert refused.returncode == 2
    assert "--session" in refused.stderr
