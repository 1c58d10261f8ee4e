"""Where an agent's heartbeat answer goes: OpenClaw's `heartbeat.target` as a delivery. Pure.

OpenClaw 2026.9.6 (docs/gateway/heartbeat.md, "Defaults"): the target is `owner` unless set; `owner`
is "the first concrete `commands.ownerAllowFrom` entry, then channel `allowFrom`", and never a group;
`last` follows the most recent conversation; `none` runs without delivering; a channel id with `to`
(and `accountId`) names the chat.

The schedule's event names no delivery (the same body locally and from the Terraform); the dispatcher
gives a heartbeat event its agent's delivery as it reads it (`HeartbeatTargets.resolve`), so a changed
target takes effect at the next start, with no schedule to rewrite:

- `owner`: the owner's direct messages: the first of the owner's ids (`channels/owner.py`: the
  `ownerAllowFrom` entries when any names someone, else each enabled channel's `allowFrom`) that
  addresses a DM. An id addresses a DM when the channel sends to a user by their id: a Telegram user
  id, a Slack member id (`U…`/`W…`: Slack posts to the bot's DM with them), a WhatsApp number. A
  Discord user id does not (a DM channel has its own id), nor does a wildcard, a Telegram `@username`
  or a group id: those are passed over. With no such id the answer goes to the last route, as `last`.
  clawbus's last route only ever moves on a trusted sender's direct message (`last_route.py`), never on
  a group, so this differs from OpenClaw (which skips the beat, `reason=no-route`) only in delivering
  to the DM the owner last wrote from, for a deployment whose owner is known through pairing alone.
  One more difference: an `ownerAllowFrom` that names only ids without a DM address (Discord) does not
  fall back to an `allowFrom` id here, which may be a friend's (the owner is who `ownerAllowFrom` says).
- `last`: the last route (no delivery; the turn reads the route).
- `none`: `Handoff(mode="none")`.
- a channel: that channel's `to`, which it needs (`ConfigError` at the dispatcher's start otherwise).
"""

from __future__ import annotations

from clawbus.bus.errors import ConfigError
from clawbus.bus.settings import HeartbeatSettings, Settings
from clawbus.channels.owner import Owners, owners_in
from clawbus.schemas import EventKind, Handoff, InboundEvent


def heartbeat_delivery(heartbeat: HeartbeatSettings, owners: Owners) -> Handoff | None:
    """The `delivery` of an agent's heartbeat event (None: the last route). See the module.

    Raises:
        ConfigError: a channel target without `to`.
    """
    target = heartbeat.target
    if target == "none":
        return Handoff(mode="none")
    if target == "last":
        return None
    if target == "owner":
        found = owners.dm()
        return None if found is None else Handoff(channel=found[0], to=found[1])
    if not heartbeat.to:
        raise ConfigError(
            f"heartbeat target {target!r} needs `to`, the chat to send to "
            f'(agents.defaults.heartbeat.to, e.g. "123456789"; CLAWBUS_HEARTBEAT__TO)'
        )
    return Handoff(channel=target, to=heartbeat.to, account_id=heartbeat.account_id)


class HeartbeatTargets:
    """Each agent's heartbeat delivery, from the settings (`resolve` gives it to a heartbeat event).

    Raises at construction (`ConfigError`) when an agent's target cannot be resolved, so a dispatcher
    with a channel target and no `to` refuses to start and says what to set.
    """

    def __init__(self, settings: Settings) -> None:
        self._heartbeat = settings.heartbeat
        self._owners = owners_in(settings, enabled_only=True)
        beating = settings.heartbeat.per_agent()
        self._by_agent = {agent: heartbeat_delivery(own, self._owners) for agent, own in beating.items()}

    def delivery(self, agent_id: str) -> Handoff | None:
        """Where `agent_id`'s heartbeat answer goes (None: its last route)."""
        if agent_id not in self._by_agent:  # an agent that does not beat here: the defaults' target
            self._by_agent[agent_id] = heartbeat_delivery(self._heartbeat.for_agent(agent_id), self._owners)
        return self._by_agent[agent_id]

    def resolve(self, event: InboundEvent) -> InboundEvent:
        """`event` with its agent's heartbeat delivery when it is a heartbeat that names none."""
        if event.kind is not EventKind.HEARTBEAT or event.delivery is not None:
            return event
        delivery = self.delivery(event.agent_id)
        return event if delivery is None else event.model_copy(update={"delivery": delivery})
