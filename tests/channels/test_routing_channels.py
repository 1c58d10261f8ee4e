"""Each channel's normaliser asks the bindings who answers: the event names that agent and its key.

The facts each channel hands routing follow OpenClaw 2026.9.6 (channels/channel-routing.md: Slack/Discord
threads append `:thread:<id>`, Telegram forum topics embed `:topic:<id>`; a thread inherits its parent
chat's binding, `binding.peer.parent`; Discord guild + roles; Slack team).
"""

from __future__ import annotations

from typing import Any

from clawbus.channels.discord import inbound as discord
from clawbus.channels.normalised import Context
from clawbus.channels.slack import inbound as slack
from clawbus.channels.telegram import inbound as telegram
from clawbus.channels.whatsapp import inbound as whatsapp
from clawbus.schemas import DmScope
from clawbus.schemas.routing import Binding, RoutingTable
from tests.channels.common import DEDUP_TTL_S, NOW, only_turn
from tests.ingress import payloads as p


def ctx(*bindings: dict[str, Any], scope: DmScope = DmScope.PER_CHANNEL_PEER) -> Context:
    table = RoutingTable(
        default_agent="main",
        bindings=tuple(Binding.model_validate(b) for b in bindings),
        dm_scope=scope,
    )
    return Context(agent_id="main", dm_scope=scope, now=NOW, routing=table)


def bound(agent: str, channel: str, **match: Any) -> dict[str, Any]:
    return {"agentId": agent, "match": {"channel": channel, "accountId": "*", **match}}


def test_a_discord_thread_goes_to_the_agent_bound_to_its_parent_channel() -> None:
    parent = bound("support", "discord", peer={"kind": "channel", "id": "1100000000000000200"})
    body = p.discord_command(guild=True, thread=True)
    event, _ = only_turn(discord.normalise(body, ctx=ctx(parent)))
    assert event.agent_id == "support"
    assert event.session_key == "agent:support:discord:channel:1100000000000000200:thread:1100000000000000300"


def test_a_discord_member_role_binding_routes_guild_messages() -> None:
    body = p.discord_command(guild=True)
    body["member"]["roles"] = ["555"]
    roles = bound("mods", "discord", guildId="1100000000000000100", roles=["555"])
    guild = bound("guild", "discord", guildId="1100000000000000100")
    assert only_turn(discord.normalise(body, ctx=ctx(guild, roles)))[0].agent_id == "mods"
    body["member"]["roles"] = []
    assert only_turn(discord.normalise(body, ctx=ctx(guild, roles)))[0].agent_id == "guild"


def test_a_discord_gateway_message_is_routed_by_its_guild() -> None:
    data = p.discord_message(mention_bot="1")
    parsed = discord.normalise_message(
        data, bot_id="1", ctx=ctx(bound("ops", "discord", guildId="900000000000000100"))
    )
    event, _ = only_turn(parsed)
    assert (event.agent_id, event.session_key) == ("ops", "agent:ops:discord:channel:900000000000000200")


def test_a_slack_workspace_binding_takes_its_team_and_threads_keep_the_agent() -> None:
    body = p.slack_event(channel="C0123", channel_type="channel", thread_ts="1700000000.000100")
    event, _ = only_turn(slack.normalise(body, ctx=ctx(bound("work", "slack", teamId=body["team_id"]))))
    assert event.agent_id == "work"
    assert event.session_key == "agent:work:slack:channel:c0123:thread:1700000000.000100"
    assert event.parent_session_key == "agent:work:slack:channel:c0123"


def test_a_telegram_forum_topic_inherits_its_groups_binding_and_the_general_topic_is_1() -> None:
    group = bound("family", "telegram", peer={"kind": "group", "id": "-100123"})
    topic = p.telegram_message(chat_id=-100123, chat_type="supergroup", topic=99)
    parsed = telegram.normalise(topic, bot_id=p.BOT_ID, bot_username=None, ctx=ctx(group))
    event, _ = only_turn(parsed)
    assert (event.agent_id, event.session_key) == ("family", "agent:family:telegram:group:-100123:topic:99")
    assert event.parent_session_key == "agent:family:telegram:group:-100123"
    general = p.telegram_message(chat_id=-100123, chat_type="supergroup")
    general["message"]["chat"]["is_forum"] = True
    event, _ = only_turn(telegram.normalise(general, bot_id=p.BOT_ID, bot_username=None, ctx=ctx(group)))
    assert event.session_key == "agent:family:telegram:group:-100123:topic:1"
    assert event.reply_to is not None
    assert event.reply_to.thread_id is None  # the General topic takes no thread id


def test_a_telegram_dm_thread_is_a_thread_of_the_senders_dm_session() -> None:
    update = p.telegram_message(user_id=42, chat_id=42)
    update["message"] |= {"message_thread_id": 7, "is_topic_message": True}
    event, _ = only_turn(telegram.normalise(update, bot_id=p.BOT_ID, bot_username=None, ctx=ctx()))
    assert event.session_key == "agent:main:telegram:direct:42:thread:42:7"


def test_a_whatsapp_dm_bound_to_one_person_goes_to_their_agent() -> None:
    body = p.whatsapp_message(sender="15551230001")
    mia = bound("mia", "whatsapp", peer={"kind": "direct", "id": "15551230001"})
    event, _ = only_turn(whatsapp.normalise(body, ctx=ctx(mia), dedup_ttl_s=DEDUP_TTL_S))
    assert (event.agent_id, event.session_key) == ("mia", "agent:mia:whatsapp:direct:15551230001")
