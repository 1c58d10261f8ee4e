"""Where a cron job created from a conversation may deliver: that conversation, or the owner.

Without a check, anyone who can get the agent to add a job could have it post into any chat the bot is
in. So a job's `delivery` target (`channel` + `to`, OpenClaw's fields) must be one of:

- the creating turn's own route (the chat, and thread, its message came from; for a scheduled turn,
  the target it delivers to); an omitted `accountId` or `threadId` is filled in from it;
- a direct message to the owner: an id that names the owner on that channel (`channels/owner.py`: an
  entry of `commands.ownerAllowFrom` when it names anyone, so a friend who is only in a channel's
  `allowFrom` is not the owner; else that channel's `allowFrom`; `*` names nobody);
- the agent's last route (`channel` absent or `last`, no `to`), which only the owner's DMs move.

A job without a target (no `delivery`, or one without `to`) gets the turn's own route, so its
announcement comes back to the chat where it was asked for (WebChat included); a scheduled turn has no
conversation of its own, so its jobs keep announcing to the last route. `mode: none` delivers nowhere.
Anything else is refused with `DeliveryRefused`, naming what is allowed. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clawbus.agent.tools.scope import Route, TurnScope
from clawbus.bus.errors import PermanentError
from clawbus.bus.settings import Settings
from clawbus.channels.owner import normalise_id, owners_in

OwnerIds = Mapping[str, frozenset[str]]


class DeliveryRefused(PermanentError):
    """A cron job's delivery target is neither the creating conversation nor the owner."""


def owner_ids(settings: Settings) -> dict[str, frozenset[str]]:
    """The owner's ids per channel, as compared (`channels/owner.py`: `commands.ownerAllowFrom` when it
    names anyone, else each channel's `allowFrom`: the agent holds no channel credentials)."""
    return owners_in(settings, enabled_only=False).ids()


_ACCOUNT, _THREAD = ("accountId", "account_id"), ("threadId", "thread_id")  # the job takes either name


def _text(delivery: Mapping[str, Any], *names: str) -> str | None:
    value = next((delivery[name] for name in names if delivery.get(name) is not None), None)
    return None if value is None else str(value)


def _own(route: Route, delivery: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **{key: value for key, value in delivery.items() if key not in (*_ACCOUNT, *_THREAD)},
        "mode": "announce",
        "channel": route.channel,
        "to": route.chat_id,
        "accountId": route.account_id,
        **({"threadId": route.thread_id} if route.thread_id else {}),
    }


def _allowed(scope: TurnScope, owners: OwnerIds) -> str:
    here = f"this conversation ({scope.route})" if scope.route else None
    channels = ", ".join(sorted(owners))
    owner = f"the owner's direct messages (their id on {channels})" if owners else None
    options = " or ".join(o for o in (here, owner) if o) or "no target: none is allowed from here"
    return (
        f"a job may deliver to {options}, or to the last route (channel 'last', no 'to'); "
        "leave delivery out to announce here"
    )


def checked_delivery(delivery: Any, scope: TurnScope, owners: OwnerIds) -> Any:
    """The delivery a job created in `scope` is stored with (see the module docstring).

    Raises:
        DeliveryRefused: the target is neither this conversation nor the owner; nothing was created.
    """
    route = None if scope.scheduled else scope.route
    if delivery is None:
        return None if route is None else _own(route, {})
    if not isinstance(delivery, Mapping) or delivery.get("mode", "announce") == "none":
        return delivery  # not a target (the job's validation refuses what is not a delivery)
    channel, to = _text(delivery, "channel"), _text(delivery, "to")
    if not to:
        if channel == "last" or (channel is None and route is None):
            return dict(delivery)  # the last route: the owner's
        if route is not None and channel in (None, route.channel):
            return _own(route, delivery)
        raise DeliveryRefused(f"cron delivery to {channel} needs 'to'; {_allowed(scope, owners)}")
    own = scope.route
    if (
        own is not None
        and channel == own.channel
        and to == own.chat_id
        and _text(delivery, *_ACCOUNT) in (None, own.account_id)
        and _text(delivery, *_THREAD) in (None, own.thread_id)
    ):
        return _own(own, delivery)
    if channel is not None and normalise_id(channel, to) in owners.get(channel, frozenset()):
        return dict(delivery)
    where = f"{channel}:{to}" if channel else f"'to' {to} without a channel"
    raise DeliveryRefused(f"cron delivery to {where} is not allowed; {_allowed(scope, owners)}")
