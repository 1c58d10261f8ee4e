"""Replies go where they belong: one session fed from several channels (OpenClaw's default `dmScope=main`,
default `collect` queue mode) answers each message in its own chat. Every stage a real process, the
platforms' APIs faked on loopback, webhooks signed as the platforms sign them."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from clawbus.ingress.signing import telegram_headers, whatsapp_headers
from clawbus.ingress.webhooks import ROUTES

from ..conftest import Bus, Pipeline, start_pipeline
from ..fakes.platforms import Call, FakePlatforms
from ..helpers import eventually
from ..ingress import payloads as p

TG_SECRET = "routes-telegram-secret"
WA_SECRET = "routes-meta-app-secret"
OWNER_TG = 42
OWNER_WA = "4915112345678"
ECHO = "(offline echo model) You said: "


@dataclass
class Channels:
    """A pipeline serving Telegram and WhatsApp, and the fake platforms it answers on."""

    pipeline: Pipeline
    fake: FakePlatforms


@pytest.fixture
def channels(bus: Bus, tmp_path: Path) -> Iterator[Channels]:
    with FakePlatforms() as fake:
        env = {  # the defaults otherwise: dmScope main, collect mode with its 1 s debounce
            "CLAWBUS_TELEGRAM__BOT_TOKEN": p.BOT_TOKEN,
            "CLAWBUS_TELEGRAM__WEBHOOK_SECRET": TG_SECRET,
            "CLAWBUS_TELEGRAM__BOT_USERNAME": p.BOT_USERNAME,
            "CLAWBUS_TELEGRAM__ALLOW_FROM": json.dumps([f"tg:{OWNER_TG}"]),
            "CLAWBUS_TELEGRAM__API_BASE": fake.api_base("telegram"),
            "CLAWBUS_WHATSAPP__ACCESS_TOKEN": "wa-routes",
            "CLAWBUS_WHATSAPP__PHONE_NUMBER_ID": "106540352242922",
            "CLAWBUS_WHATSAPP__APP_SECRET": WA_SECRET,
            "CLAWBUS_WHATSAPP__VERIFY_TOKEN": "routes-verify",
            "CLAWBUS_WHATSAPP__ALLOW_FROM": json.dumps([OWNER_WA]),
            "CLAWBUS_WHATSAPP__API_BASE": fake.api_base("whatsapp"),
        }
        running = start_pipeline(bus, tmp_path / "logs", env, channels=("telegram", "whatsapp"))
        try:
            yield Channels(running, fake)
        finally:
            codes = running.stop()
        assert all(code == 0 for _, code in codes), codes


def telegram_dm(text: str) -> tuple[str, bytes, dict[str, str]]:
    body = json.dumps(p.telegram_message(user_id=OWNER_TG, chat_id=OWNER_TG, text=text)).encode()
    return ROUTES["telegram"], body, telegram_headers(TG_SECRET)


def whatsapp_dm(text: str) -> tuple[str, bytes, dict[str, str]]:
    payload = p.whatsapp_message(sender=OWNER_WA, text=text)
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
        answers = await asyncio.gather(  # sent at once: well within the 1 s collect debounce
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
    assert replies_in(channels.fake) == {
        "telegram": [(str(OWNER_TG), ECHO + "from telegram")],
        "whatsapp": [(OWNER_WA, ECHO + "from whatsapp")],
    }
