"""Who the owner is on each channel: `commands.ownerAllowFrom`, else each channel's `allowFrom`. Pure.

OpenClaw 2026.9.6 keeps the two lists apart: `ownerAllowFrom` is "the explicit owner allowlist ...
separate from `allowFrom`" (docs/gateway/config-channels/commands.md), "manually allowlisted senders are
not automatically command owners" (docs/channels/pairing.md), "owner means the sender matches
`commands.ownerAllowFrom`; channel `allowFrom` lists only control ordinary channel and command access"
(docs/channels/groups.md), and its owner-gated cron management says "channel allowlists, wildcard
entries ... do not establish ownership" (docs/automation/cron-jobs/managing-jobs.md). Its `owner`
heartbeat falls back to channel `allowFrom` (docs/gateway/heartbeat.md), as clawbus did before it read
`ownerAllowFrom`. So, for the cron tool's "owner's DMs" and the `owner` heartbeat alike:

- An `ownerAllowFrom` entry is `<channel>:<id>` (or the channel's own prefix, `tg:`), the owner on that
  channel, or a bare id, the owner on every channel (OpenClaw's `resolveOwnerAllowFromList` applies an
  unprefixed entry to every provider). `*`, an empty entry, a prefix that is no chat channel and the
  legacy `<channel>:user:<id>` (OpenClaw's doctor rewrites it) name nobody.
- Once `ownerAllowFrom` names anyone, the owner is exactly its entries, on every channel: a friend whose
  id is only in a channel's `allowFrom` may talk (and is trusted in their own DM) but is not the owner.
- With none, the owner is each channel's concrete `allowFrom` ids (`*` names nobody); the dispatcher reads
  only the channels it has credentials for (`owners_in(enabled_only=True)`), the agent, which has none, all.

`Owners.dm()` is the first of those ids that addresses a DM (`IdRules.dm_address`): where `owner`
heartbeats go. Ids keep their case; `normalise_id` is how they compare.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from clawbus.channels.registry import all_channels, find

if TYPE_CHECKING:
    from clawbus.bus.settings import Settings


def chat_channels() -> tuple[str, ...]:
    """The channels an owner can be named on, in the registry's order (WebChat is the owner's own page)."""
    return tuple(spec.name for spec in all_channels() if not spec.internal)


def split_entry(entry: str) -> tuple[str | None, str]:
    """(channel, id) of an owner entry: the channel its prefix names (None: a bare id), the id trimmed,
    case kept; the id is "" when the entry names nobody (see the module)."""
    text = entry.strip()
    for name in chat_channels():
        rest = without_prefix(name, text)
        if rest != text:
            return name, _named(rest)
    return None, _named(text)


def _named(user: str) -> str:
    """`user`, or "" when it names nobody: `*`, or a further prefix (legacy `<channel>:user:<id>`)."""
    return "" if ":" in user or user == "*" else user


def without_prefix(channel: str, value: str) -> str:
    """`value` trimmed, without a `<channel>:` or channel-specific prefix (`tg:`); case kept."""
    spec = find(channel)
    text = value.strip()
    for prefix in (f"{channel}:", *(spec.ids.prefixes if spec else ())):
        if text.lower().startswith(prefix):
            return text[len(prefix) :].strip()
    return text


def normalise_id(channel: str, value: str) -> str:
    """An id as compared: trimmed, lowercased, without a channel prefix (`tg:`, `telegram:`), `@` or `+`."""
    return without_prefix(channel, value).lower().lstrip("@+")


def dm_address(channel: str, user_id: str) -> str | None:
    """The chat id of `user_id`'s DM on `channel`, when the channel sends to a user by id
    (`IdRules.dm_address`: a Telegram user id, a Slack member id, a WhatsApp number); else None."""
    spec = find(channel)
    if spec is None or spec.ids.dm_address is None:
        return None
    match = re.fullmatch(spec.ids.dm_address, user_id)
    return None if match is None else match.group(1)


@dataclass(frozen=True)
class Owners:
    """What names the owner: `commands.ownerAllowFrom` and each configured channel's `allowFrom`."""

    owner_allow_from: Sequence[str] = ()
    allow_from: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def named(self) -> Iterator[tuple[str, str]]:
        """(channel, id) for each id naming the owner, in order: `ownerAllowFrom`'s entries when any
        names someone (a bare id once per chat channel), else each channel's `allowFrom`."""
        explicit = [split_entry(entry) for entry in self.owner_allow_from]
        explicit = [(channel, user) for channel, user in explicit if user]
        if explicit:
            for channel, user in explicit:
                for name in (channel,) if channel else chat_channels():
                    yield name, user
            return
        for name, entries in self.allow_from.items():
            for entry in entries:
                user = without_prefix(name, entry)
                if user and user != "*":
                    yield name, user

    def ids(self) -> dict[str, frozenset[str]]:
        """The owner's ids per channel, as compared (`normalise_id`)."""
        found: dict[str, set[str]] = {}
        for channel, user in self.named():
            found.setdefault(channel, set()).add(normalise_id(channel, user))
        return {channel: frozenset(users) for channel, users in found.items()}

    def dm(self) -> tuple[str, str] | None:
        """The owner's DM as (channel, chat id): the first owner id that addresses one, or None."""
        for channel, user in self.named():
            chat = dm_address(channel, user)
            if chat is not None:
                return channel, chat
        return None


def owners_in(settings: Settings, *, enabled_only: bool) -> Owners:
    """The owner's names in `settings`: `commands.ownerAllowFrom`, and each chat channel's `allowFrom`
    (clawbus's channel order). `enabled_only`: only channels enabled in `settings`, for a stage that holds
    the channels' credentials (the dispatcher); the agent holds none, so it reads every channel's list.
    """
    allow_from = {
        spec.name: spec.settings(settings).allow_from
        for spec in all_channels()
        if not spec.internal and (spec.enabled(settings) or not enabled_only)
    }
    return Owners(settings.commands.owner_allow_from, allow_from)
