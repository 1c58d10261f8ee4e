"""Replies go where they belong: one session fed from several channels (OpenClaw's default `dmScope=main`,
default `collect` queue mode) answers each message in its own chat, and only the owner's DMs move the
last route (where heartbeats and cron announcements go). Every stage a real process, the platforms'
APIs faked on loopback, webhooks signed as the platforms sign them."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from clawbus.bus.topology import sessions_table_name
from clawbus.channels.telegram.inbound import signed_headers as telegram_headers
from clawbus.channels.whatsapp.inbound import signed_headers as whatsapp_headers
from clawbus.ingress.webhooks import routes
from clawbus.storage import DynamoSessionIndex, SessionEntry
from tests.conftest import Pipeline, make_bus, start_pipeline
from tests.fakes.platforms import Call, FakePlatforms
from tests.helpers import echo, eventually
from tests.ingress import payloads as p

ROUTES = routes()

TG_SECRET = "routes-telegram-secret"
WA_SECRET = "routes-meta-app-secret"
OWNER_TG = 42
OWNER_WA = "4915112345678"
STRANGER_WA = "4917600000001"
ECHO = re.compile(r"\(native · offline echo · turn \d+\) You said: .*", re.S)


@dataclass
class Channels:
    """A pipeline serving Telegram and WhatsApp, and the fake platforms it answers on."""

    pipeline: Pipeline
    fake: FakePlatforms


@pytest.fixture(scope="module")
def channels(aws_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Channels]:
    bus, logs = make_bus(aws_endpoint), tmp_path_factory.mktemp("routes") / "logs"
    with FakePlatforms() as fake:
        env = {  # the defaults otherwise: dmScope main, steer mode (500 ms debounce for queued messages)
            "CLAWBUS_TELEGRAM__BOT_TOKEN": p.BOT_TOKEN,
            "CLAWBUS_TELEGRAM__WEBHOOK_SECRET": TG_SECRET,
            "CLAWBUS_TELEGRAM__BOT_USERNAME": p.BOT_USERNAME,
            "CLAWBUS_TELEGRAM__ALLOW_FROM": json.dumps([f"tg:{OWNER_TG}"]),
            "CLAWBUS_TELEGRAM__API_BASE": fake.api_base("telegram"),
            "CLAWBUS_WHATSAPP__ACCESS_TOKEN": "wa-routes",
            "CLAWBUS_WHATSAPP__PHONE_NUMBER_ID": "106540352242922",
            "CLAWBUS_WHATSAPP__APP_SECRET": WA_SECRET,
            "CLAWBUS_WHATSAPP__VERIFY_TOKEN": "routes-verify",
            # Open to everyone ("*"), the owner named: the owner is `allowed`, anyone else `open`.
            "CLAWBUS_WHATSAPP__DM_POLICY": "open",
            "CLAWBUS_WHATSAPP__ALLOW_FROM": json.dumps([OWNER_WA, "*"]),
            "CLAWBUS_WHATSAPP__API_BASE": fake.api_base("whatsapp"),
        }
        running = start_pipeline(bus, logs, env, channels=("telegram", "whatsapp"))
        try:
            yield Channels(running, fake)
        finally:
            codes = running.stop()
        assert all(code == 0 for _, code in codes), codes


def telegram_dm(text: str) -> tuple[str, bytes, dict[str, str]]:
    body = json.dumps(p.telegram_message(user_id=OWNER_TG, chat_id=OWNER_TG, text=text)).encode()
    return ROUTES["telegram"], body, telegram_headers(TG_SECRET)


def whatsapp_dm(text: str, sender: str = OWNER_WA) -> tuple[str, bytes, dict[str, str]]:
    payload = p.whatsapp_message(sender=sender, text=text)
    for change in payload["entry"][0]["changes"]:  # sent just now, not at the fixture's fixed time
        for message in change["value"]["messages"]:
            message["timestamp"] = str(int(time.time()))
    body = json.dumps(payload).encode()
    return ROUTES["whatsapp"], body, whatsapp_headers(WA_SECRET, body)


def replies_in(fake: FakePlatforms) -> dict[str, list[tuple[str, str]]]:
    """Each platform's accepted sends as (chat, text)."""

    def chat(call: Call) -> str:
        return str(call.body.get("chat_id") or call.body.get("to"))

    return {name: [(chat(c), c.text) for c in fake.sent(name)] for name in ("telegram", "whatsapp")}


async def test_two_dms_from_two_channels_in_one_session_are_each_answered_in_their_own_chat(
    channels: Channels,
) -> None:
    async with httpx.AsyncClient(base_url=channels.pipeline.ingress_url, timeout=15) as client:
        answers = await asyncio.gather(  # sent at once: one session, two routes, never merged
            *(
                client.post(path, content=body, headers=headers)
                for path, body, headers in (telegram_dm("from telegram"), whatsapp_dm("from whatsapp"))
            )
        )
        assert [a.status_code for a in answers] == [200, 200]

    async def both_answered() -> dict[str, list[tuple[str, str]]] | None:
        got = replies_in(channels.fake)
        return got if all(got.values()) else None

    await eventually(both_answered, timeout=40, interval=0.2, what="a reply on Telegram and on WhatsApp")
    await asyncio.sleep(2)  # a merged or duplicated reply would have landed by now; none may
    # The first test of the module: nothing else was sent. One session, so one of the two was its turn 1
    # and the other its turn 2, in whichever order the two channels' messages arrived.
    got = replies_in(channels.fake)
    assert got in (
        {
            "telegram": [(str(OWNER_TG), echo("from telegram", 1))],
            "whatsapp": [(OWNER_WA, echo("from whatsapp", 2))],
        },
        {
            "telegram": [(str(OWNER_TG), echo("from telegram", 2))],
            "whatsapp": [(OWNER_WA, echo("from whatsapp", 1))],
        },
    ), got


async def _main_entry(pipeline: Pipeline) -> SessionEntry | None:
    async with pipeline.bus.aio("dynamodb") as dynamodb:
        return await DynamoSessionIndex(dynamodb, sessions_table_name(pipeline.bus.prefix)).get(
            "main", "agent:main:main"
        )


async def test_only_the_owners_dm_moves_the_last_route_a_strangers_open_dm_does_not(
    channels: Channels,
) -> None:
    async def say(path: str, body: bytes, headers: dict[str, str], platform: str, to: str, text: str) -> None:
        async with httpx.AsyncClient(base_url=channels.pipeline.ingress_url, timeout=15) as client:
            assert (await client.post(path, content=body, headers=headers)).status_code == 200

        async def answered() -> bool:
            # The owner's session has earlier turns from the other tests of the module: any turn number.
            return any(
                chat == to and ECHO.fullmatch(reply) and reply.endswith(f") You said: {text}")
                for chat, reply in replies_in(channels.fake)[platform]
            )

        await eventually(answered, timeout=40, interval=0.2, what=f"the answer to {text!r}")

    await say(*telegram_dm("remind me here"), "telegram", str(OWNER_TG), "remind me here")
    entry = await _main_entry(channels.pipeline)
    assert entry is not None
    assert (entry.last_channel, entry.last_to, entry.last_route_trusted) == ("telegram", str(OWNER_TG), True)

    # A stranger's DM is answered in the stranger's chat (the route moves before the turn runs, so by the
    # time the answer is out, a wrong move would be stored) and the owner's route stays.
    await say(*whatsapp_dm("hello there", sender=STRANGER_WA), "whatsapp", STRANGER_WA, "hello there")
    entry = await _main_entry(channels.pipeline)
    assert entry is not None
    assert (entry.last_channel, entry.last_to) == ("telegram", str(OWNER_TG))

    await say(*whatsapp_dm("now here"), "whatsapp", OWNER_WA, "now here")  # the owner, on another channel
    entry = await _main_entry(channels.pipeline)
    assert entry is not None
    assert (entry.last_channel, entry.last_to) == ("whatsapp", OWNER_WA)
