"""`clawbus route bind|unbind`: bind a thread to a session by hand, or remove a binding.

OpenClaw's runtime binds a thread when it spawns a sub-agent into it; clawbus has no `sessions_spawn`, so
an operator (or a script) binds one here: `--channel`, `--chat` and `--thread` name the conversation
(`--account` when not `default`), `--agent` and `--session` the session its messages go to from now on.
The binding takes `session.thread_bindings` (`idleHours`, `maxAgeHours`) as it is configured. `unbind`
is OpenClaw's `/session unbind`: the thread goes back to the ordinary routing; the session stays.
"""

from __future__ import annotations

import argparse
from typing import Any

from clawbus.bus.clients import CronClients, open_stage_clients
from clawbus.bus.clock import utc_now
from clawbus.bus.errors import ConfigError
from clawbus.bus.settings import Settings
from clawbus.bus.topology import pairing_table_name
from clawbus.schemas.session_key import DEFAULT_AGENT_ID, normalize_id
from clawbus.schemas.thread_binding import Conversation, ThreadBinding
from clawbus.storage.thread_bindings import thread_binding_store


def _conversation(args: argparse.Namespace) -> Conversation:
    if not args.channel or not args.chat:
        raise ConfigError(f"route {args.action} needs --channel and --chat (and --thread for a thread)")
    return Conversation(
        channel=args.channel, account_id=args.account, chat_id=args.chat, thread_id=args.thread or None
    )


async def bind_or_unbind(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    """Bind (or unbind) the thread `args` name; what was done."""
    conversation = _conversation(args)
    async with open_stage_clients(settings, CronClients) as clients:
        store = thread_binding_store(clients.dynamodb, pairing_table_name(settings.bus.prefix))
        if args.action == "unbind":
            await store.unbind(conversation)
            return {"unbound": conversation.model_dump()}
        if not args.agent or not args.session:
            raise ConfigError("route bind needs --agent and --session (the session key to send to)")
        now, policy = utc_now(), settings.session.thread_bindings
        binding = ThreadBinding(
            conversation=conversation,
            agent_id=normalize_id(args.agent, DEFAULT_AGENT_ID),
            session_key=args.session,
            bound_at=now,
            last_active_at=now,
            idle_hours=policy.idle_hours,
            max_age_hours=policy.max_age_hours,
        )
        await store.bind(binding)
        ends = binding.expires_at()
        return {
            "bound": conversation.model_dump(),
            "agent": binding.agent_id,
            "sessionKey": binding.session_key,
            "expiresAt": ends.isoformat() if ends else None,
        }
