"""Which agent answers a message, and in which session: OpenClaw's bindings, matched the OpenClaw way.

A binding names an `agentId` and a `match` (channel, accountId, peer, guildId, roles, teamId). The
most specific tier wins (concepts/multi-agent.md, channels/channel-routing.md "Routing rules"):

    exact peer > parent peer (a thread's chat) > peer wildcard > guild+roles > guild > team > account
    > channel (`accountId: "*"`) > the default agent

Within a tier the first binding in config order wins; all fields a binding sets must match (AND). An
omitted `accountId` matches only the `default` account; `"*"` matches any. Peer kinds `group` and
`channel` match each other; ids compare exactly (trimmed). A binding may override `dmScope`/`groupScope`
for what it matches. Bindings only pick the agent: they never admit a sender (ingress/core/gate.py does).

This follows OpenClaw 2026.9.6's `src/routing/resolve-route.ts` (`resolveAgentRoute`), read from its
shipped build. Pure: the same table and input always give the same route.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from clawbus.schemas.session_key import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_AGENT_ID,
    DmScope,
    PeerKind,
    derive_session_key,
    main_session_key,
    normalize_id,
)


class GroupScope(StrEnum):
    """How group and channel messages map onto sessions (OpenClaw `session.groupScope`)."""

    PER_GROUP = "per-group"
    MAIN = "main"


class MatchedBy(StrEnum):
    """Which rule chose the agent (OpenClaw's `matchedBy`), most specific first."""

    PEER = "binding.peer"
    PARENT_PEER = "binding.peer.parent"
    PEER_WILDCARD = "binding.peer.wildcard"
    GUILD_ROLES = "binding.guild+roles"
    GUILD = "binding.guild"
    TEAM = "binding.team"
    ACCOUNT = "binding.account"
    CHANNEL = "binding.channel"
    DEFAULT = "default"


_CONFIG = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")


class PeerMatch(BaseModel):
    """A binding's `match.peer`: a concrete chat, or every chat of a kind (`id: "*"`)."""

    model_config = _CONFIG
    kind: PeerKind
    id: str = Field(min_length=1)


class BindingMatch(BaseModel):
    """A binding's `match`: every field it sets must hold."""

    model_config = _CONFIG
    channel: str = Field(min_length=1)
    account_id: str | None = Field(default=None, alias="accountId")
    peer: PeerMatch | None = None
    guild_id: str | None = Field(default=None, alias="guildId")
    team_id: str | None = Field(default=None, alias="teamId")
    roles: tuple[str, ...] = ()


class BindingSession(BaseModel):
    """A binding's `session`: scope overrides for the conversations it matches."""

    model_config = _CONFIG
    dm_scope: DmScope | None = Field(default=None, alias="dmScope")
    group_scope: GroupScope | None = Field(default=None, alias="groupScope")


class Binding(BaseModel):
    """One entry of OpenClaw's top-level `bindings[]`."""

    model_config = _CONFIG
    agent_id: str = Field(min_length=1, alias="agentId")
    match: BindingMatch
    session: BindingSession | None = None


@dataclass(frozen=True)
class RoutingTable:
    """What routing reads from the configuration: bindings in config order, the default agent, scopes."""

    default_agent: str = DEFAULT_AGENT_ID
    bindings: tuple[Binding, ...] = ()
    dm_scope: DmScope = DmScope.MAIN
    group_scope: GroupScope = GroupScope.PER_GROUP
    identity_links: dict[str, list[str]] = field(default_factory=dict)
    # Channels whose threads share their channel's session (`channels.<ch>.thread.historyScope: channel`).
    shared_thread_channels: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RoutePeer:
    """The chat of a message (or of a thread's parent), as routing compares it."""

    kind: PeerKind
    id: str


@dataclass(frozen=True)
class RouteInput:
    """The facts of one inbound message that routing reads.

    `thread_id` is a thread inside `peer` (Slack `thread_ts`, a Discord thread channel); `parent_peer` is
    the chat a thread or forum topic belongs to, for bindings on that chat. `use_thread_suffix` off keeps
    the thread in its parent's session (OpenClaw's `useSuffix: false`).
    """

    channel: str
    peer: RoutePeer | None
    account_id: str = DEFAULT_ACCOUNT_ID
    parent_peer: RoutePeer | None = None
    guild_id: str | None = None
    team_id: str | None = None
    member_roles: tuple[str, ...] = ()
    thread_id: str | None = None
    use_thread_suffix: bool = True


class Route(BaseModel):
    """Who answers and where the conversation is kept (OpenClaw's `ResolvedAgentRoute`)."""

    model_config = ConfigDict(frozen=True)
    agent_id: str
    session_key: str
    main_session_key: str
    matched_by: MatchedBy
    dm_scope: DmScope
    group_scope: GroupScope
    parent_session_key: str | None = None


def _id(value: str | None) -> str:
    return (value or "").strip()


def _kind_key(kind: PeerKind) -> str:
    return "group" if kind is PeerKind.CHANNEL else kind.value


def _same_kind(wanted: PeerKind, seen: PeerKind) -> bool:
    return _kind_key(wanted) == _kind_key(seen)


def _account_of(binding: Binding) -> str:
    raw = _id(binding.match.account_id)
    return "*" if raw == "*" else normalize_id(raw, DEFAULT_ACCOUNT_ID)


def _tier(binding: Binding) -> MatchedBy:
    """The one tier a binding competes in, by the most specific field it sets."""
    match = binding.match
    if match.peer is not None:
        return MatchedBy.PEER_WILDCARD if _id(match.peer.id) == "*" else MatchedBy.PEER
    if _id(match.guild_id):
        return MatchedBy.GUILD_ROLES if match.roles else MatchedBy.GUILD
    if _id(match.team_id):
        return MatchedBy.TEAM
    return MatchedBy.CHANNEL if _account_of(binding) == "*" else MatchedBy.ACCOUNT


def _scope_matches(binding: Binding, peer: RoutePeer | None, facts: RouteInput) -> bool:
    """Whether every field the binding sets holds for `peer` (the message's or its parent's)."""
    match = binding.match
    if match.peer is not None:
        if peer is None or not _same_kind(match.peer.kind, peer.kind):
            return False
        wanted = _id(match.peer.id)
        if wanted != "*" and wanted != _id(peer.id):
            return False
    if _id(match.guild_id) and _id(match.guild_id) != _id(facts.guild_id):
        return False
    if _id(match.team_id) and _id(match.team_id) != _id(facts.team_id):
        return False
    return not match.roles or bool(set(match.roles) & set(facts.member_roles))


def matching_bindings(table: RoutingTable, facts: RouteInput) -> tuple[Binding, ...]:
    """The bindings of the message's channel and account (or any account), in config order."""
    channel = _id(facts.channel).lower()
    account = normalize_id(facts.account_id, DEFAULT_ACCOUNT_ID)
    return tuple(
        b
        for b in table.bindings
        if _id(b.match.channel).lower() == channel and _account_of(b) in ("*", account)
    )


def choose_binding(table: RoutingTable, facts: RouteInput) -> tuple[Binding | None, MatchedBy]:
    """The winning binding and its tier, or `(None, DEFAULT)` when none matches."""
    candidates = matching_bindings(table, facts)
    parent = facts.parent_peer if facts.parent_peer is not None and _id(facts.parent_peer.id) else None
    steps: list[tuple[MatchedBy, MatchedBy, RoutePeer | None, bool]] = [
        (MatchedBy.PEER, MatchedBy.PEER, facts.peer, facts.peer is not None),
        (MatchedBy.PARENT_PEER, MatchedBy.PEER, parent, parent is not None),
        (MatchedBy.PEER_WILDCARD, MatchedBy.PEER_WILDCARD, facts.peer, facts.peer is not None),
        (
            MatchedBy.GUILD_ROLES,
            MatchedBy.GUILD_ROLES,
            facts.peer,
            bool(_id(facts.guild_id) and facts.member_roles),
        ),
        (MatchedBy.GUILD, MatchedBy.GUILD, facts.peer, bool(_id(facts.guild_id))),
        (MatchedBy.TEAM, MatchedBy.TEAM, facts.peer, bool(_id(facts.team_id))),
        (MatchedBy.ACCOUNT, MatchedBy.ACCOUNT, facts.peer, True),
        (MatchedBy.CHANNEL, MatchedBy.CHANNEL, facts.peer, True),
    ]
    for matched_by, tier, peer, applies in steps:
        if not applies:
            continue
        for binding in candidates:
            if _tier(binding) is tier and _scope_matches(binding, peer, facts):
                return binding, matched_by
    return None, MatchedBy.DEFAULT


def thread_session_keys(
    base_key: str, thread_id: str | None, *, use_suffix: bool = True
) -> tuple[str, str | None]:
    """A thread's session key and its parent's (OpenClaw's `resolveThreadSessionKeys`).

    A thread id blank after trimming is no thread: the base key, no parent. Otherwise the key is
    `<base>:thread:<id>` (lowercased), or the base itself with `use_suffix` off; the parent is the base.
    """
    thread = _id(thread_id)
    if not thread:
        return base_key, None
    return (f"{base_key}:thread:{thread.lower()}" if use_suffix else base_key), base_key


def _base_key(
    table: RoutingTable, facts: RouteInput, agent: str, peer: RoutePeer | None, scopes: Route
) -> str:
    if peer is not None and peer.kind is not PeerKind.DIRECT and scopes.group_scope is GroupScope.MAIN:
        return scopes.main_session_key
    return derive_session_key(
        agent_id=agent,
        channel=facts.channel,
        peer_kind=peer.kind if peer else PeerKind.DIRECT,
        peer_id=peer.id if peer else None,
        account_id=facts.account_id,
        dm_scope=scopes.dm_scope,
        identity_links=table.identity_links,
    )


def resolve_route(table: RoutingTable, facts: RouteInput) -> Route:
    """The agent that answers `facts`' message, its session key and the rule that chose it.

    A thread with a parent chat (a Discord thread channel) is keyed under its parent:
    `<parent key>:thread:<id>`; one without (a Slack `thread_ts`) under its own chat. A conversation
    with a parent chat but no thread id (a Telegram forum topic, `<chat>:topic:<id>`) keeps its own key,
    and its parent's key as `parent_session_key`.
    """
    binding, matched_by = choose_binding(table, facts)
    agent = normalize_id(binding.agent_id if binding else table.default_agent, DEFAULT_AGENT_ID)
    override = binding.session if binding and binding.session else BindingSession()
    main = main_session_key(agent)
    scopes = Route(
        agent_id=agent,
        session_key=main,
        main_session_key=main,
        matched_by=matched_by,
        dm_scope=override.dm_scope or table.dm_scope,
        group_scope=override.group_scope or table.group_scope,
    )
    parent = facts.parent_peer if facts.parent_peer is not None and _id(facts.parent_peer.id) else None
    threaded = bool(_id(facts.thread_id))
    base = _base_key(table, facts, agent, parent if threaded and parent else facts.peer, scopes)
    suffix = facts.use_thread_suffix and _id(facts.channel).lower() not in table.shared_thread_channels
    key, parent_key = thread_session_keys(base, facts.thread_id, use_suffix=suffix)
    if parent_key is None and parent is not None:
        parent_base = _base_key(table, facts, agent, parent, scopes)
        parent_key = parent_base if parent_base != base else None
    return scopes.model_copy(update={"session_key": key, "parent_session_key": parent_key})
