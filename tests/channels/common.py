"""What the channel tests share: a fixed clock, a normaliser context, and shortcuts to each normaliser."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from clawbus.channels.normalised import Context, Parsed
from clawbus.channels.telegram import inbound as telegram
from clawbus.channels.whatsapp import inbound as whatsapp
from clawbus.schemas import DmScope, InboundEvent
from tests.ingress import payloads as p

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
CTX = Context(agent_id="main", dm_scope=DmScope.PER_CHANNEL_PEER, now=NOW)
DEDUP_TTL_S = 8 * 24 * 3600


def tg(update: dict[str, Any]) -> Parsed:
    return telegram.normalise(update, bot_id=p.BOT_ID, bot_username=p.BOT_USERNAME, ctx=CTX)


def wa(body: dict[str, Any]) -> Parsed:
    return whatsapp.normalise(body, ctx=CTX, dedup_ttl_s=DEDUP_TTL_S)


def sent(seconds_ago: int) -> int:
    return int(NOW.timestamp()) - seconds_ago


def only_turn(parsed: Parsed) -> tuple[InboundEvent, bool]:
    assert len(parsed.turns) == 1, parsed
    return parsed.turns[0].event, parsed.turns[0].mentioned
