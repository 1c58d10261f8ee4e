"""What a channel's normaliser hands to the stage: turns to gate and enqueue, or reasons to ignore.

A platform payload can hold several events (WhatsApp batches messages and statuses), and some payloads
are answered without a turn (Slack's `url_verification`, Discord's PING). Normalisers are pure: they
return a `Parsed` or raise `InvalidEnvelope`, never anything else.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ParamSpec

from pydantic import ValidationError

from clawbus.bus.errors import InvalidEnvelope
from clawbus.schemas import DmScope, InboundEvent
from clawbus.schemas.routing import Route, RouteInput, RoutingTable, resolve_route


@dataclass(frozen=True)
class Context:
    """What a normaliser needs besides the payload: who answers, how DMs map to sessions, the time, and
    how long ingress remembers an event id (`IngressSettings.dedup_ttl_s`: WhatsApp refuses messages
    older than that, which the dedup record could no longer recognise as redelivered). A normaliser asks
    `route` for the agent and session key, so bindings decide who answers on every channel alike."""

    agent_id: str
    dm_scope: DmScope
    now: datetime
    account_id: str = "default"
    dedup_ttl_s: int = 8 * 24 * 3600
    routing: RoutingTable | None = None  # bindings etc.; None: every message to `agent_id`

    def route(self, facts: RouteInput) -> Route:
        """Which agent answers a message and its session key (`schemas/routing.py`)."""
        table = self.routing or RoutingTable(default_agent=self.agent_id, dm_scope=self.dm_scope)
        return resolve_route(table, facts)


@dataclass(frozen=True)
class Turn:
    """One platform message that may start a turn, once gating admits it.

    `mentioned` says the bot was addressed (a native @-mention, a reply to the bot, a slash command);
    group mention gating reads it. DMs are always addressed.
    """

    event: InboundEvent
    mentioned: bool


@dataclass(frozen=True)
class Ignored:
    """A platform event deliberately not turned into a turn, with a stable reason for the log."""

    reason: str
    event_id: str | None = None


@dataclass(frozen=True)
class Parsed:
    """The turns and ignored events of one payload; `reply` is a body to answer with instead of a plain ack
    (a Slack challenge, a Discord PONG or deferred response)."""

    turns: tuple[Turn, ...] = ()
    ignored: tuple[Ignored, ...] = ()
    reply: dict[str, Any] | None = field(default=None)


_P = ParamSpec("_P")
_SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError)


def shape_checked(normalise: Callable[_P, Parsed]) -> Callable[_P, Parsed]:
    """Turn the errors a payload of the wrong shape raises inside a platform library (a list where a
    string was expected, a missing key) into `InvalidEnvelope`, so a normaliser raises nothing else."""

    @functools.wraps(normalise)
    def checked(*args: _P.args, **kwargs: _P.kwargs) -> Parsed:
        try:
            return normalise(*args, **kwargs)
        except InvalidEnvelope:
            raise
        except _SHAPE_ERRORS as exc:
            raise InvalidEnvelope(f"payload of the wrong shape: {type(exc).__name__}") from exc

    return checked


def load_json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or `InvalidEnvelope` saying what was wrong."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidEnvelope(f"malformed JSON: {exc}") from exc
    except RecursionError as exc:  # nesting deeper than the parser goes: hostile, not a 500
        raise InvalidEnvelope("malformed JSON: nested too deeply") from exc
    if not isinstance(data, dict):
        raise InvalidEnvelope(f"expected a JSON object, got {type(data).__name__}")
    return data


def build_event(**fields: Any) -> InboundEvent:
    """An `InboundEvent`, or `InvalidEnvelope` when the platform's values do not fit the envelope."""
    try:
        return InboundEvent(**fields)
    except ValidationError as exc:
        where = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        raise InvalidEnvelope(f"platform event does not fit the inbound envelope ({where})") from exc
