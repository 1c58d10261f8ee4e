"""Discord gateway messages onto the inbound queue.

The messages are real `discord.Message` objects, built by discord.py's own `ConnectionState` from
gateway payloads (a DM, a guild channel, a thread in its guild's cache), handed to the transport's
`on_message` as discord.py's client does, against the real loopback AWS API. Not covered here: the
WebSocket itself (identify, heartbeats, RESUME after a drop), which is discord.py's own and tested there.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest

from clawbus.bus.clients import IngressClients, open_stage_clients
from clawbus.bus.settings import Settings
from clawbus.bus.topology import inbound_queue_name
from clawbus.channels.discord.relay import DiscordGateway
from clawbus.ingress.relay import Handoff
from clawbus.ingress.wiring import build_intake
from tests.conftest import Bus
from tests.fakes.discord_gateway import ANN, BOT
from tests.helpers import drain_queue

GUILD, GENERAL, THREAD = "900000000000000100", "900000000000000200", "900000000000000300"
_ids = itertools.count(910_000_000_000_000_000)


def message(
    channel_id: str, *, content: str, author: dict[str, Any] = ANN, guild: bool = False, **extra: Any
) -> dict[str, Any]:
    data = {
        "id": str(next(_ids)),
        "channel_id": channel_id,
        "author": author,
        "content": content,
        "timestamp": "2026-01-05T12:00:00.000000+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
        **extra,
    }
    if guild:
        data["guild_id"] = GUILD
    return data


class Gateway:
    """discord.py's state with our bot logged in and one guild (a channel and a thread) in its cache."""

    def __init__(self, transport: DiscordGateway) -> None:
        self.transport = transport
        self.client = transport.client()
        self.state = self.client._connection
        self.state.user = discord.ClientUser(state=self.state, data=BOT)  # type: ignore[arg-type]
        self.guild = discord.Guild(
            state=self.state,
            data={  # type: ignore[typeddict-item]
                "id": GUILD,
                "name": "crew",
                "owner_id": ANN["id"],
                "roles": [],
                "emojis": [],
                "features": [],
                "channels": [{"id": GENERAL, "type": 0, "name": "general", "position": 0, "guild_id": GUILD}],
                "threads": [
                    {
                        "id": THREAD,
                        "type": 11,
                        "name": "plans",
                        "parent_id": GENERAL,
                        "guild_id": GUILD,
                        "owner_id": ANN["id"],
                        "message_count": 0,
                        "member_count": 1,
                        "thread_metadata": {
                            "archived": False,
                            "auto_archive_duration": 1440,
                            "archive_timestamp": "2026-01-05T12:00:00+00:00",
                            "locked": False,
                        },
                    }
                ],
            },
        )
        self.state._add_guild(self.guild)

    async def send(self, data: dict[str, Any]) -> discord.Message:
        """Receive `data` as the gateway's MESSAGE_CREATE would, and hand it to the transport."""
        if "guild_id" in data:
            channel: Any = self.guild.get_channel_or_thread(int(data["channel_id"]))
        else:
            channel = discord.DMChannel(
                me=self.state.user,
                state=self.state,
                data={"id": data["channel_id"], "type": 1, "recipients": [data["author"]]},
            )  # type: ignore[arg-type, typeddict-item]
        received = discord.Message(state=self.state, channel=channel, data=data)  # type: ignore[arg-type]
        await self.transport.on_message(received, int(BOT["id"]))
        return received


def settings_for(bus: Bus, **discord_settings: Any) -> Settings:
    return Settings(
        aws={"endpoint_url": bus.endpoint, "region": "us-east-1"},
        bus={"prefix": bus.prefix},
        session={"dm_scope": "per-channel-peer"},
        discord={
            "bot_token": "discord-bot-token",
            "group_policy": "open",
            "dm_policy": "open",
            "allow_from": ["*"],
            **discord_settings,
        },
    )


@pytest.fixture
async def gateway(bus: Bus, request: pytest.FixtureRequest) -> AsyncIterator[Gateway]:
    settings = settings_for(bus, **getattr(request, "param", {}))
    async with open_stage_clients(settings, IngressClients) as clients:
        intake, _ = await build_intake(settings, clients)
        yield Gateway(DiscordGateway(settings.discord, Handoff(intake, "discord", retry_for_s=5)))


def drained(bus: Bus) -> list[dict[str, Any]]:
    url = bus.queue_url(inbound_queue_name(bus.prefix))
    return drain_queue(bus.client("sqs"), url, timeout=1, mid_turn_copies=False)


async def test_a_dm_a_mention_in_a_channel_and_a_thread_reply_become_turns_in_their_sessions(
    gateway: Gateway, bus: Bus
) -> None:
    dm = await gateway.send(message("900000000000000500", content="hello in a DM"))
    await gateway.send(message(GENERAL, content="chatter, not for the bot", guild=True))
    mention = await gateway.send(
        message(GENERAL, content=f"<@{BOT['id']}> what's up", guild=True, mentions=[BOT])
    )
    await gateway.send(message(THREAD, content="thread, still not for the bot", guild=True))
    threaded = await gateway.send(
        message(THREAD, content=f"<@{BOT['id']}> in the thread", guild=True, mentions=[BOT])
    )

    got = drained(bus)
    assert [m["text"] for m in got] == [
        "hello in a DM",
        f"<@{BOT['id']}> what's up",
        f"<@{BOT['id']}> in the thread",
    ]
    assert got[0]["event_id"] == f"discord:{dm.id}"
    assert got[0]["session_key"] == f"agent:main:discord:direct:{ANN['id']}"
    assert got[1]["session_key"] == f"agent:main:discord:channel:{GENERAL}"
    assert got[1]["reply_to"]["reply_to_message_id"] == str(mention.id)
    assert got[2]["session_key"] == f"agent:main:discord:channel:{GENERAL}:thread:{THREAD}"
    assert got[2]["reply_to"]["thread_id"] == THREAD
    assert got[2]["event_id"] == f"discord:{threaded.id}"
    assert got[0]["sender"]["name"] == "Ann"


async def test_a_reply_to_the_bot_is_addressed_to_it_and_its_own_and_other_bots_messages_are_not_turns(
    gateway: Gateway, bus: Bus
) -> None:
    earlier = message(GENERAL, content="an answer", author=BOT, guild=True)
    await gateway.send(earlier)  # our own message, as the gateway echoes it
    await gateway.send(
        message(GENERAL, content="beep", guild=True, author={**ANN, "id": "900000000000000077", "bot": True})
    )
    reply = message(
        GENERAL,
        content="thanks!",
        guild=True,
        type=19,
        message_reference={"message_id": earlier["id"], "channel_id": GENERAL, "guild_id": GUILD},
        referenced_message=earlier,
    )
    await gateway.send(reply)
    assert [m["text"] for m in drained(bus)] == ["thanks!"]


async def test_the_same_message_delivered_twice_is_one_turn(gateway: Gateway, bus: Bus) -> None:
    data = message("900000000000000501", content="once")
    await gateway.send(data)
    await gateway.send(data)  # a replay after a RESUME can repeat an event
    assert [m["text"] for m in drained(bus)] == ["once"]


@pytest.mark.parametrize(
    "gateway", [{"dm_policy": "allowlist", "allow_from": ["900000000000000043"]}], indirect=True
)
async def test_a_dm_from_a_sender_outside_the_allowlist_gets_no_turn(gateway: Gateway, bus: Bus) -> None:
    await gateway.send(message("900000000000000502", content="let me in"))
    await gateway.send(
        message("900000000000000503", content="hi", author={**ANN, "id": "900000000000000043"})
    )
    assert [m["text"] for m in drained(bus)] == ["hi"]
