"""Session keys, derived the way OpenClaw derives them.

A session key names one conversation with the agent: `agent:<agentId>:main` for the main session,
`agent:<agentId>:<channel>:group:<peer>` for a group, with `:thread:<id>` or `:topic:<id>` appended for
threads and Telegram forum topics. Direct messages follow `dmScope`; OpenClaw's default, `main`, puts
every DM into the main session. Everything here is pure: same input, same key.
"""

from __future__ import annotations

import re
from enum import StrEnum

DEFAULT_AGENT_ID = "main"
DEFAULT_ACCOUNT_ID = "default"
MAIN_KEY = "main"

_VALID_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$", re.IGNORECASE)
_INVALID_RUN = re.compile(r"[^a-z0-9_-]+")


class DmScope(StrEnum):
    """How direct messages map onto sessions (OpenClaw `session.dmScope`)."""

    MAIN = "main"
    PER_PEER = "per-peer"
    PER_CHANNEL_PEER = "per-channel-peer"
    PER_ACCOUNT_CHANNEL_PEER = "per-account-channel-peer"


class PeerKind(StrEnum):
    """Where a message was said: a direct chat, a group, or a (broadcast/guild) channel."""

    DIRECT = "direct"
    GROUP = "group"
    CHANNEL = "channel"


def normalize_id(value: str | None, fallback: str) -> str:
    """Normalise an agent or account id as OpenClaw does.

    Trimmed; a valid id (`[a-z0-9][a-z0-9_-]{0,63}`, any case) is lowercased; anything else is lowercased,
    runs of other characters become `-`, edge dashes go, and it is cut to 64 characters. An empty result
    falls back to `fallback`.
    """
    text = (value or "").strip()
    if _VALID_ID.match(text):
        return text.lower()
    cleaned = _INVALID_RUN.sub("-", text.lower()).strip("-")[:64]
    return cleaned or fallback


def main_session_key(agent_id: str | None = None) -> str:
    """`agent:<agentId>:main`: where DMs (by default), heartbeats and cron system events go."""
    return f"agent:{normalize_id(agent_id, DEFAULT_AGENT_ID)}:{MAIN_KEY}"


def _lower(value: str | None, fallback: str) -> str:
    text = (value or "").strip().lower()
    return text or fallback


def resolve_identity(channel: str, peer_id: str, identity_links: dict[str, list[str]] | None) -> str:
    """Replace a peer id by its canonical name when `session.identityLinks` lists it.

    A link entry matches the raw peer id or `<channel>:<peerId>` (compared lowercased).
    """
    if not identity_links:
        return peer_id
    raw = peer_id.strip().lower()
    scoped = f"{channel.strip().lower()}:{raw}"
    for name, ids in identity_links.items():
        wanted = {entry.strip().lower() for entry in ids}
        if raw in wanted or scoped in wanted:
            return name.strip().lower()
    return peer_id


def derive_session_key(
    *,
    agent_id: str | None,
    channel: str,
    peer_kind: PeerKind,
    peer_id: str | None,
    account_id: str | None = None,
    dm_scope: DmScope = DmScope.MAIN,
    thread_id: str | None = None,
    topic_id: str | None = None,
    identity_links: dict[str, list[str]] | None = None,
) -> str:
    """The session key of a message, following OpenClaw's routing rules.

    Args:
        agent_id: the agent that answers (normalised; empty means `main`).
        channel: the channel name (`telegram`, `slack`, ...); lowercased, empty means `unknown`.
        peer_kind: direct chat, group or channel.
        peer_id: the chat/user id; an empty DM peer falls back to the main session.
        account_id: the channel account (multi-account bots); only `per-account-channel-peer` uses it.
        dm_scope: how DMs split into sessions; `main` is OpenClaw's default.
        thread_id: a thread inside the chat; appended as `:thread:<id>` (lowercased).
        topic_id: a Telegram forum topic; appended to the group as `:topic:<id>`.
        identity_links: canonical names for peers seen on several channels (DMs only, not in `main`).
    """
    agent = normalize_id(agent_id, DEFAULT_AGENT_ID)
    chan = _lower(channel, "unknown")
    if peer_kind is PeerKind.DIRECT:
        peer = (peer_id or "").strip()
        if dm_scope is DmScope.MAIN or not peer:
            base = main_session_key(agent)
        else:
            peer = resolve_identity(chan, peer, identity_links).lower()
            if dm_scope is DmScope.PER_PEER:
                base = f"agent:{agent}:direct:{peer}"
            elif dm_scope is DmScope.PER_CHANNEL_PEER:
                base = f"agent:{agent}:{chan}:direct:{peer}"
            else:
                account = normalize_id(account_id, DEFAULT_ACCOUNT_ID)
                base = f"agent:{agent}:{chan}:{account}:direct:{peer}"
    else:
        base = f"agent:{agent}:{chan}:{peer_kind.value}:{_lower(peer_id, 'unknown')}"
        if topic_id and topic_id.strip():
            base = f"{base}:topic:{topic_id.strip().lower()}"
    thread = (thread_id or "").strip()
    if thread:  # blank after trimming: no thread (OpenClaw's resolveThreadSessionKeys)
        base = f"{base}:thread:{thread.lower()}"
    return base


def cron_session_key(agent_id: str | None, job_id: str) -> str:
    """`agent:<agentId>:cron:<jobId>`: the session of a cron job's isolated runs."""
    return f"agent:{normalize_id(agent_id, DEFAULT_AGENT_ID)}:cron:{job_id.strip().lower()}"
