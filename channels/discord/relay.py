"""The Discord gateway: plain messages in DMs, guild channels and threads, through discord.py.

Interactions (slash commands) arrive as webhooks; messages only over the gateway, a WebSocket the bot
holds open with the intents it asked for: `messages` (guild and DM messages), `message_content`
(privileged: enable MESSAGE CONTENT INTENT under Developer Portal → Bot, or guild messages arrive
without text) and `guilds` (the channel and thread cache that says which channel is a thread of which).
discord.py identifies, heartbeats, and on a dropped connection or a RECONNECT request reconnects with
its own exponential backoff and RESUMEs the session, so Discord replays the events missed meanwhile;
when a resume is refused it identifies afresh. The relay adds backoff only around a client that
stopped altogether.

Each `discord.Message` is turned back into the gateway's `MESSAGE_CREATE` shape (`message_payload`,
plus the channel type and thread parent from discord.py's cache) and goes through the pure normaliser
(`inbound.py`) and the same intake as every other transport. The webhook path checks an
Ed25519 signature; here the gateway session, identified with the bot token over TLS, stands in for it.
The gateway cannot redeliver a message: one that could not be enqueued within
`CLAWBUS_RELAY__ENQUEUE_RETRY_S` is logged as `relay.event.dropped` (ERROR).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from clawbus.bus.errors import ConfigError, RetryableError, Unauthorized, Unavailable
from clawbus.bus.logging import log_event
from clawbus.bus.settings import DiscordSettings
from clawbus.channels.contracts import Handoff, until_stopped
from clawbus.channels.discord import inbound as core

logger = logging.getLogger(__name__)
INTENTS = discord.Intents(
    guilds=True, messages=True, dm_messages=True, guild_messages=True, message_content=True
)


def message_payload(message: discord.Message) -> dict[str, Any]:
    """A received message in the shape of the gateway's `MESSAGE_CREATE` data, as the core reads it."""
    channel = message.channel
    guild_id = message.guild.id if message.guild is not None else getattr(channel, "guild_id", None)
    channel_type = getattr(channel, "type", None)
    author = message.author
    payload: dict[str, Any] = {
        "id": str(message.id),
        "type": message.type.value,
        "channel_id": str(channel.id),
        "guild_id": str(guild_id) if guild_id is not None else None,
        "author": {
            "id": str(author.id),
            "username": author.name,
            "global_name": author.global_name,
            "bot": author.bot,
        },
        "content": message.content,
        "mentions": [{"id": str(user.id)} for user in message.mentions],
        "webhook_id": str(message.webhook_id) if message.webhook_id is not None else None,
        "channel_type": channel_type.value if isinstance(channel_type, discord.ChannelType) else None,
        "flags": message.flags.value,  # IS_VOICE_MESSAGE marks a voice message's attachment
        "attachments": [_attachment(item) for item in message.attachments],
    }
    if isinstance(channel, discord.Thread):
        payload["parent_id"] = str(channel.parent_id)
    resolved = message.reference.resolved if message.reference is not None else None
    if isinstance(resolved, discord.Message):
        payload["referenced_message"] = {"id": str(resolved.id), "author": {"id": str(resolved.author.id)}}
    return payload


def _attachment(item: discord.Attachment) -> dict[str, Any]:
    """An attachment as the gateway sent it (the fields `media.attachments` reads)."""
    return {
        "id": str(item.id),
        "url": item.url,
        "filename": item.filename,
        "content_type": item.content_type,
        "size": item.size,
    }


class _GatewayClient(discord.Client):
    """discord.py's client, passing every message to the transport."""

    def __init__(self, transport: DiscordGateway) -> None:
        super().__init__(intents=INTENTS)
        self._transport = transport

    async def on_ready(self) -> None:
        log_event(logger, "relay.connection.opened", channel="discord", transport="gateway")

    async def on_resumed(self) -> None:
        log_event(logger, "relay.connection.resumed", channel="discord", transport="gateway")

    async def on_message(self, message: discord.Message) -> None:
        await self._transport.on_message(message, self.user.id if self.user else None)


class DiscordGateway:
    """The Discord transport: one gateway session (discord.py reconnects and resumes it)."""

    channel = "discord"
    name = "gateway"

    def __init__(self, settings: DiscordSettings, delivery: Handoff) -> None:
        assert settings.bot_token is not None  # only built when the channel is configured
        self._settings = settings
        self._delivery = delivery

    def client(self) -> discord.Client:
        """A new gateway client for one session (a closed discord.py client cannot start again)."""
        return _GatewayClient(self)

    async def session(self, stop: asyncio.Event) -> None:
        """Run one discord.py client until `stop`; raises our errors when it cannot go on."""
        try:
            async with self.client() as client:
                await until_stopped(self._run(client), stop)
        except discord.LoginFailure as exc:
            raise Unauthorized("Discord refused the bot token; check CLAWBUS_DISCORD__BOT_TOKEN") from exc
        except discord.PrivilegedIntentsRequired as exc:
            raise ConfigError(
                "Discord refused the MESSAGE_CONTENT intent: enable MESSAGE CONTENT INTENT under "
                "Developer Portal → your app → Bot"
            ) from exc
        except (discord.GatewayNotFound, discord.ConnectionClosed, discord.HTTPException) as exc:
            raise Unavailable(f"Discord gateway: {exc}") from exc
        except aiohttp.ClientError as exc:
            raise Unavailable(f"Discord unreachable: {exc}") from exc

    async def _run(self, client: discord.Client) -> None:
        """Log in and hold the gateway (what `client.start` does), asking a local API for its gateway."""
        assert self._settings.bot_token is not None
        local = bool(self._settings.api_base)
        if local:
            # discord.py reads its REST base from this class attribute; set for a local Discord API, as
            # egress uses CLAWBUS_DISCORD__API_BASE.
            Route.BASE = str(self._settings.api_base).rstrip("/")
        await client.login(self._settings.bot_token.get_secret_value())
        if local:
            # discord.py connects to Discord's fixed gateway (DiscordWebSocket.DEFAULT_GATEWAY); a local
            # API names its own in GET /gateway/bot, as Discord's does (wss://gateway.discord.gg).
            _, url, _ = await client.http.get_bot_gateway()
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
        await client.connect()

    async def on_message(self, message: discord.Message, bot_id: int | None) -> None:
        """Hand one gateway message to intake (the adapter's whole job)."""
        data = message_payload(message)
        me = str(bot_id) if bot_id is not None else ""
        try:
            await self._delivery.hand_over(lambda ctx: core.normalise_message(data, bot_id=me, ctx=ctx))
        except RetryableError as exc:
            log_event(
                logger,
                "relay.event.dropped",
                logging.ERROR,
                channel=self.channel,
                event_id=f"discord:{message.id}",
                reason=str(exc),
            )
