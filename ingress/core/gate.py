"""Who may start a turn: OpenClaw's DM policy, group policy and mention gating, as a pure decision.

DMs follow `dm_policy`: `pairing` (unknown senders get a pairing code), `allowlist` (configured or
paired senders only), `open` (everyone; a non-empty `allow_from` without `*` still restricts it) and
`disabled`. Groups follow `group_policy` (`allowlist` matches the group id or the sender in
`group_allow_from`; `open`; `disabled`), and with `require_mention` only messages that address the
bot pass. Allowlist entries may carry a channel prefix (`telegram:123`, or the channel's own `IdRules`
prefixes: `tg:123`); matching ignores case.

An admitted turn also says *why* it was admitted (`Access`), which ingress stamps on the event and later
stages trust (`schemas.trusted`): a DM sender named in `allow_from` (not just `*`) or approved through
pairing is `allowed` under any DM policy; a DM admitted only because the policy is open is `open`; a
group or channel message is `group`, whoever sent it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from clawbus.channels.contracts import IdRules
from clawbus.channels.normalised import Turn
from clawbus.channels.registry import find
from clawbus.schemas import Access, PeerKind


class Verdict(StrEnum):
    """What to do with a turn."""

    ADMIT = "admit"
    PAIR = "pair"  # an unknown DM sender under `pairing`: send (or re-use) a pairing code
    REFUSE = "refuse"


@dataclass(frozen=True)
class Decision:
    """A verdict; when refused, the stable reason that is logged; when admitted, how far the sender is
    trusted (`access`, None unless admitted)."""

    verdict: Verdict
    reason: str = ""
    access: Access | None = None


@dataclass(frozen=True)
class Policy:
    """One channel's access settings (from `ChannelSettings`)."""

    channel: str
    dm_policy: str = "pairing"
    allow_from: frozenset[str] = frozenset()
    group_policy: str = "allowlist"
    group_allow_from: frozenset[str] = frozenset()
    require_mention: bool = True

    @classmethod
    def build(
        cls,
        channel: str,
        *,
        dm_policy: str,
        allow_from: Iterable[str],
        group_policy: str,
        group_allow_from: Iterable[str],
        require_mention: bool,
    ) -> Policy:
        """A policy with its allowlists normalised (prefix stripped, lowercased)."""
        return cls(
            channel=channel,
            dm_policy=dm_policy,
            allow_from=frozenset(normalise_entry(channel, e) for e in allow_from),
            group_policy=group_policy,
            group_allow_from=frozenset(normalise_entry(channel, e) for e in group_allow_from),
            require_mention=require_mention,
        )


def normalise_entry(channel: str, entry: str) -> str:
    """An allowlist entry or sender id as compared: channel prefix removed, trimmed, lowercased."""
    spec = find(channel)
    rules = spec.ids if spec is not None else IdRules()
    text = entry.strip().lower()
    for prefix in (f"{channel}:", *rules.prefixes):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text.removeprefix("@") if rules.strip_at else text


def decide(turn: Turn, policy: Policy, paired: frozenset[str]) -> Decision:
    """Whether `turn` may run; `paired` holds senders approved through pairing (normalised ids)."""
    event = turn.event
    sender = normalise_entry(policy.channel, event.sender.id) if event.sender else ""
    peer = event.peer
    if peer is None or peer.kind is PeerKind.DIRECT:
        return _decide_dm(sender, policy, paired)
    if policy.group_policy == "disabled":
        return Decision(Verdict.REFUSE, "group_disabled")
    if policy.group_policy == "allowlist":
        group = normalise_entry(policy.channel, peer.id)
        if group not in policy.group_allow_from and sender not in policy.group_allow_from:
            return Decision(Verdict.REFUSE, "group_not_allowlisted")
    if policy.require_mention and not turn.mentioned:
        return Decision(Verdict.REFUSE, "not_mentioned")
    return Decision(Verdict.ADMIT, access=Access.GROUP)


def _decide_dm(sender: str, policy: Policy, paired: frozenset[str]) -> Decision:
    # `*` admits everyone but names no one: only a sender named in allow_from, or paired, is trusted.
    named = bool(sender) and sender != "*" and sender in policy.allow_from
    allowed = named or (bool(sender) and sender in paired)
    admitted = Decision(Verdict.ADMIT, access=Access.ALLOWED)
    match policy.dm_policy:
        case "disabled":
            return Decision(Verdict.REFUSE, "dm_disabled")
        case "open":  # admission as before (pairing admits no one here), trust as everywhere
            if named:
                return admitted
            if not policy.allow_from or "*" in policy.allow_from:
                return admitted if allowed else Decision(Verdict.ADMIT, access=Access.OPEN)
            return Decision(Verdict.REFUSE, "not_allowlisted")
        case "allowlist":
            return admitted if allowed else Decision(Verdict.REFUSE, "not_allowlisted")
        case _:
            return admitted if allowed else Decision(Verdict.PAIR, "pairing_required")
