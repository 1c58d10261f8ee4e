"""`/link`, pure: recognise the command, word its answers, and re-key a linked sender's session.

`/link` asks for a code; `/link <code>` redeems one (`123-456`, `123 456` or `123456`). Telegram's
`/link@<bot>` form counts too. Only DMs carry it: a command in a group is just text for the agent.
A wrong, expired or used code all get the same answer (`INVALID`), so a guesser learns nothing, and a
sender gets `MAX_ATTEMPTS` commands per window (`storage.identity_links`).

`linked_session_key` is how a link changes where a DM goes: the key is derived again with the config's
`session.identityLinks` plus the stored link merged in, exactly as the channel derived it (so only keys
whose shape it reproduces are touched), and OpenClaw's rule holds: `main` never consults links.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from clawbus.schemas import DmScope, InboundEvent, PeerKind, derive_session_key
from clawbus.storage.identity_links import CODE_TTL, read_code, show_code

_COMMAND = re.compile(r"^/link(?:@\w+)?(?:\s+(?P<code>.*))?$", re.I | re.S)
MINUTES = int(CODE_TTL.total_seconds() // 60)
INVALID = (
    f"That link code is not valid. Codes work once and for {MINUTES} minutes: send /link from your "
    "other account for a new one."
)
RATE_LIMITED = "Too many /link attempts. Wait a few minutes, then try again."
NOT_ALLOWED = "Only approved senders can link accounts. Ask the owner to approve this account first."
OWN_CODE = "That code came from this account. Send it from your other account."


@dataclass(frozen=True)
class Ask:
    """`/link`: issue a code."""


@dataclass(frozen=True)
class Redeem:
    """`/link <code>`: `code` is the digits, or None when what followed cannot be a code."""

    code: str | None


LinkCommand = Ask | Redeem


def parse_link(text: str) -> LinkCommand | None:
    """The `/link` command in a message's text, or None when the message is not one."""
    match = _COMMAND.match(text.strip())
    if match is None:
        return None
    rest = (match.group("code") or "").strip()
    return Redeem(read_code(rest)) if rest else Ask()


def issued_text(code: str) -> str:
    """The answer to `/link`."""
    shown = show_code(code)
    return (
        f"Your link code is {shown}; send `/link {shown}` from your other account within {MINUTES} minutes."
    )


def linked_text(issuer_channel: str) -> str:
    """The answer to a redeemed code."""
    return f"Linked: this account and your {issuer_channel} account are now the same person."


def merged_links(
    config: dict[str, list[str]], channel: str, sender: str, canonical: str
) -> dict[str, list[str]]:
    """The config's identity links with `channel:sender` → `canonical` added (the stored link wins)."""
    scoped = f"{channel}:{sender}".lower()
    merged = {name: [e for e in ids if e.strip().lower() != scoped] for name, ids in config.items()}
    merged[canonical] = [*merged.get(canonical, []), scoped]
    return merged


def _derive(event: InboundEvent, dm_scope: DmScope, links: dict[str, list[str]] | None) -> str:
    assert event.sender is not None
    return derive_session_key(
        agent_id=event.agent_id,
        channel=event.channel,
        peer_kind=PeerKind.DIRECT,
        peer_id=event.sender.id,  # a DM's key names its sender (Slack's DM channel id is not it)
        account_id=event.account_id,
        dm_scope=dm_scope,
        identity_links=links,
    )


def linked_session_key(
    event: InboundEvent,
    dm_scope: DmScope,
    config: dict[str, list[str]],
    sender: str,
    canonical: str,
) -> str | None:
    """The session key of a DM from a sender linked to `canonical`; None to keep the event's own key
    (not a DM, `main` scope, or a key shape this derivation does not reproduce)."""
    direct = event.peer is None or event.peer.kind is PeerKind.DIRECT
    if dm_scope is DmScope.MAIN or not direct or event.sender is None:
        return None
    if event.session_key not in (_derive(event, dm_scope, None), _derive(event, dm_scope, config)):
        return None
    return _derive(event, dm_scope, merged_links(config, event.channel, sender, canonical))


def issuer_identity(event: InboundEvent, config: dict[str, list[str]], stored: str | None) -> str:
    """The canonical name a code's issuer has: their stored link, else their config link, else their
    own id (what a per-peer key already uses for them, so their session stays where it is)."""
    if stored is not None:
        return stored
    peer = (event.sender.id if event.sender is not None else "").strip().lower()
    scoped = f"{event.channel}:{peer}"
    for name, ids in config.items():
        if {e.strip().lower() for e in ids} & {peer, scoped}:
            return name.strip().lower()
    return peer
