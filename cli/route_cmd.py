"""`clawbus route explain|sessions|bind|unbind`: which agent answers a conversation, the sessions each agent
keeps, and thread bindings set by hand (`route_bind.py`).

`explain` resolves a message's facts against the loaded configuration (the environment over the stored
openclaw.json, as ingress loads it) and prints the agent, the rule that matched (OpenClaw's `matchedBy`)
and the session key: what an operator asks when a binding does not seem to apply. `sessions` lists the
session index of every configured agent (or one), each key classified (`schemas/session_key_parse.py`).
Against the deployment the ops flags name (`cli/ops_target.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from contextlib import AsyncExitStack
from typing import Any

from clawbus.agent.runtime import open_session_stores
from clawbus.bus.errors import ConfigError
from clawbus.bus.settings import Settings
from clawbus.cli.console import Console
from clawbus.cli.ops_target import add_target_arguments
from clawbus.cli.route_bind import bind_or_unbind
from clawbus.openclaw.document_settings import load_settings_async
from clawbus.schemas import PeerKind
from clawbus.schemas.routing import RouteInput, RoutePeer, choose_binding, resolve_route
from clawbus.schemas.session_key_parse import parse_session_key


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `clawbus route` to the CLI."""
    add_arguments(
        commands.add_parser(
            "route",
            help="which agent answers a conversation (bindings), and each agent's sessions",
            description="explain: the agent, the matched rule (matchedBy) and the session key of a message "
            "under the loaded config; sessions: each agent's stored session keys, classified. Exit 2 when "
            "the config or the stores cannot be used.",
        )
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`route explain` and `route sessions` flags."""
    parser.add_argument(
        "action",
        choices=("explain", "sessions", "bind", "unbind"),
        help="explain: one message; sessions: list; bind/unbind: a thread to a session (cli/route_bind.py)",
    )
    parser.add_argument("--chat", help="bind/unbind: the chat id the thread is in")
    parser.add_argument("--session", help="bind: the session key the thread's messages go to")
    parser.add_argument("--channel", help="explain: the channel (telegram, slack, discord, whatsapp, ...)")
    parser.add_argument("--peer", help="explain: the chat, KIND:ID (direct|group|channel); a bare ID is a DM")
    parser.add_argument(
        "--account", default="default", help="explain: the channel account (default: default)"
    )
    parser.add_argument("--parent", help="explain: a thread's or topic's parent chat, KIND:ID")
    parser.add_argument("--guild", help="explain: the Discord guild id")
    parser.add_argument("--roles", default="", help="explain: the member's Discord role ids, comma-separated")
    parser.add_argument("--team", help="explain: the Slack team id")
    parser.add_argument("--thread", help="explain: the thread id inside the chat")
    parser.add_argument("--agent", help="sessions: only this agent's sessions; bind: the session's agent")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_target_arguments(parser)


def _peer(text: str | None) -> RoutePeer | None:
    if not text:
        return None
    kind, sep, peer_id = text.partition(":")
    if not sep or kind not in {k.value for k in PeerKind}:
        return RoutePeer(PeerKind.DIRECT, text)
    return RoutePeer(PeerKind(kind), peer_id)


def explain(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    """The route of the message `args` describe, under `settings`. Pure."""
    if not args.channel or not args.peer:
        raise ConfigError("route explain needs --channel and --peer")
    facts = RouteInput(
        channel=args.channel,
        peer=_peer(args.peer),
        account_id=args.account,
        parent_peer=_peer(args.parent),
        guild_id=args.guild,
        team_id=args.team,
        member_roles=tuple(r.strip() for r in args.roles.split(",") if r.strip()),
        thread_id=args.thread,
    )
    table = settings.routing.table(settings.session.agent_id, settings.session.dm_scope)
    route = resolve_route(table, facts)
    binding, _ = choose_binding(table, facts)
    return {
        "agent": route.agent_id,
        "matchedBy": route.matched_by.value,
        "sessionKey": route.session_key,
        "parentSessionKey": route.parent_session_key,
        "binding": table.bindings.index(binding) if binding is not None else None,
        "dmScope": route.dm_scope.value,
        "groupScope": route.group_scope.value,
    }


async def _sessions(settings: Settings, only: str | None) -> list[dict[str, Any]]:
    agents = [only] if only else settings.routing.agent_ids(settings.session.agent_id)
    rows: list[dict[str, Any]] = []
    async with AsyncExitStack() as stack:
        _transcripts, index, _recall = await open_session_stores(settings, stack)
        for agent in agents:
            for key, entry in sorted((await index.entries(agent)).items()):
                parsed = parse_session_key(key)
                rows.append(
                    {
                        "agent": agent,
                        "key": key,
                        "shape": parsed.shape.value,
                        "kind": parsed.kind.value,
                        "channel": parsed.channel,
                        "thread": parsed.thread_id or parsed.topic_id,
                        "sessionId": entry.session_id,
                        "updatedAt": entry.updated_at,
                    }
                )
    return rows


def run_route(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    """Print a route or the sessions; exit 2 when the configuration or the stores cannot be used."""
    loaded = asyncio.run(load_settings_async(settings)).settings
    if args.action in ("bind", "unbind"):
        done = asyncio.run(bind_or_unbind(loaded, args))
        console.print(json.dumps(done) if args.json else " ".join(f"{k}={v}" for k, v in done.items()))
        return 0
    if args.action == "explain":
        found = explain(loaded, args)
        if args.json:
            console.print(json.dumps(found))
        else:
            rule = found["matchedBy"] + (
                f" (bindings[{found['binding']}])" if found["binding"] is not None else ""
            )
            console.print(f"agent: {found['agent']}\nmatchedBy: {rule}\nsessionKey: {found['sessionKey']}")
            if found["parentSessionKey"]:
                console.print(f"parentSessionKey: {found['parentSessionKey']}")
        return 0
    rows = asyncio.run(_sessions(loaded, args.agent))
    if args.json:
        console.print(json.dumps(rows))
    elif not rows:
        console.print("no sessions")
    for row in [] if args.json else rows:
        where = " ".join(f"{k}={row[k]}" for k in ("shape", "kind", "channel", "thread") if row[k])
        console.print(f"{row['agent']}  {row['key']}  {where}")
    return 0
