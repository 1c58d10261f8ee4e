"""Reading a stored session key back: its shape, agent, kind, channel, peer and thread. Pure.

OpenClaw classifies keys (`classifySessionKeyShape` in its `src/routing/session-key.ts`): an *agent* key
is `agent:<agentId>:<rest>` with a non-empty agent id and a rest that does not start with `:`; any other
key starting with `agent:` is *malformed* (never resolved to the default agent); anything else is a
*legacy* key or alias from before agent-scoped keys (`main`, `telegram:group:-100`), which import scopes
to an agent (`scope_legacy_key`). The rest's shapes are those `derive_session_key` builds:

    main                                    the main session (DMs under dmScope main, heartbeats)
    direct:<peer>                           dmScope per-peer
    <channel>:direct:<peer>                 dmScope per-channel-peer
    <channel>:<account>:direct:<peer>       dmScope per-account-channel-peer
    <channel>:group|channel:<peer>          a group or channel (`:topic:<id>` for a Telegram forum topic)
    cron:<job>                              a cron job's isolated runs
    … :thread:<id>                          a thread of any of these (the last `:thread:` splits)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from clawbus.schemas.session_key import MAIN_KEY, main_session_key, normalize_id


class KeyShape(StrEnum):
    """What a stored key is."""

    AGENT = "agent"
    LEGACY = "legacy"
    MALFORMED = "malformed"


class KeyKind(StrEnum):
    """What conversation an agent key names."""

    MAIN = "main"
    DIRECT = "direct"
    GROUP = "group"
    CHANNEL = "channel"
    CRON = "cron"
    SUBAGENT = "subagent"
    ACP = "acp"
    OTHER = "other"


@dataclass(frozen=True)
class ParsedKey:
    """A session key taken apart; fields a key does not have are None."""

    key: str
    shape: KeyShape
    agent_id: str | None = None
    rest: str = ""
    kind: KeyKind = KeyKind.OTHER
    channel: str | None = None
    account_id: str | None = None
    peer_id: str | None = None
    topic_id: str | None = None
    thread_id: str | None = None

    @property
    def group_like(self) -> bool:
        """A group or channel conversation (or a thread or topic in one)."""
        return self.kind in (KeyKind.GROUP, KeyKind.CHANNEL)

    @property
    def threaded(self) -> bool:
        """A thread or forum topic."""
        return self.thread_id is not None or self.topic_id is not None


def _split_thread(rest: str) -> tuple[str, str | None]:
    at = rest.lower().rfind(":thread:")
    if at == -1:
        return rest, None
    thread = rest[at + len(":thread:") :].strip()
    return rest[:at], thread or None


def _conversation(base: str) -> dict[str, str | KeyKind | None]:
    parts = base.split(":")
    if parts[0] == "direct" and len(parts) >= 2:
        return {"kind": KeyKind.DIRECT, "peer_id": ":".join(parts[1:])}
    if len(parts) >= 3 and parts[1] == "direct":
        return {"kind": KeyKind.DIRECT, "channel": parts[0], "peer_id": ":".join(parts[2:])}
    if len(parts) >= 4 and parts[2] == "direct":
        return {
            "kind": KeyKind.DIRECT,
            "channel": parts[0],
            "account_id": parts[1],
            "peer_id": ":".join(parts[3:]),
        }
    if len(parts) >= 3 and parts[1] in ("group", "channel"):
        peer = ":".join(parts[2:])
        topic = None
        if ":topic:" in peer:
            peer, topic = peer.rsplit(":topic:", 1)
        kind = KeyKind.GROUP if parts[1] == "group" else KeyKind.CHANNEL
        return {"kind": kind, "channel": parts[0], "peer_id": peer, "topic_id": topic or None}
    return {"kind": KeyKind.OTHER}


def parse_session_key(key: str | None) -> ParsedKey:
    """`key` taken apart (module docstring); never raises."""
    raw = (key or "").strip()
    if not raw.lower().startswith("agent:"):
        return ParsedKey(raw, KeyShape.LEGACY if raw else KeyShape.MALFORMED)
    agent, sep, rest = raw[len("agent:") :].partition(":")
    if not sep or not agent.strip() or not rest or rest.startswith(":"):
        return ParsedKey(raw, KeyShape.MALFORMED)
    agent_id = normalize_id(agent, "")
    namespace = rest.split(":", 1)[0].lower()
    if rest.lower() == MAIN_KEY:
        return ParsedKey(raw, KeyShape.AGENT, agent_id, rest, KeyKind.MAIN)
    if namespace in ("cron", "subagent", "acp"):
        return ParsedKey(raw, KeyShape.AGENT, agent_id, rest, KeyKind(namespace))
    base, thread = _split_thread(rest)
    if base.lower() == MAIN_KEY:
        return ParsedKey(raw, KeyShape.AGENT, agent_id, rest, KeyKind.MAIN, thread_id=thread)
    found = _conversation(base)
    return ParsedKey(
        raw,
        KeyShape.AGENT,
        agent_id,
        rest,
        KeyKind(str(found["kind"])),
        channel=_text(found.get("channel")),
        account_id=_text(found.get("account_id")),
        peer_id=_text(found.get("peer_id")),
        topic_id=_text(found.get("topic_id")),
        thread_id=thread,
    )


def _text(value: str | KeyKind | None) -> str | None:
    return str(value) if value else None


def agent_of(key: str, fallback: str | None = None) -> str | None:
    """The agent id of an agent key; `fallback` for a legacy key; None for a malformed one."""
    parsed = parse_session_key(key)
    if parsed.shape is KeyShape.AGENT:
        return parsed.agent_id
    return fallback if parsed.shape is KeyShape.LEGACY else None


def scope_legacy_key(agent_id: str, key: str) -> str:
    """A legacy key as agent `agent_id`'s key (OpenClaw's `toAgentStoreSessionKey`); others unchanged:
    `main` becomes `agent:<id>:main`, `telegram:group:-100` becomes `agent:<id>:telegram:group:-100`."""
    parsed = parse_session_key(key)
    if parsed.shape is not KeyShape.LEGACY:
        return key
    if parsed.key.lower() == MAIN_KEY:
        return main_session_key(agent_id)
    return f"agent:{normalize_id(agent_id, 'main')}:{parsed.key.lower()}"
