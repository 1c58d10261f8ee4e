"""`/link` across channels of one embedded default: a code asked for on Telegram and redeemed on
WhatsApp (or in WebChat) makes both accounts one person, so with dmScope `per-peer` the next WhatsApp
(or WebChat) message lands in the Telegram session (the offline echo counts the session's user turns:
turn 2, not turn 1). Every
stage a real process, the platforms' APIs faked on loopback, webhooks signed as the platforms sign them."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import httpx
import pytest

from clawbus.channels.telegram.inbound import signed_headers as telegram_headers
from clawbus.channels.whatsapp.inbound import signed_headers as whatsapp_headers
from clawbus.ingress.webhooks import routes
from tests.conftest import Pipeline, make_bus, start_pipeline
from tests.fakes.platforms import FakePlatforms
from tests.helpers import echo, eventually
from tests.ingress import payloads as p
from tests.pipeline.webchat_client import post, replies

ROUTES = routes()
TG_SECRET = "link-telegram-secret"
WA_SECRET = "link-meta-app-secret"
USER_TG = 42
USER_WA = "4915112345678"
CODE = re.compile(r"Your link code is (\d{3}-\d{3})")  # the rest renders per platform (`<code>`)


@pytest.fixture(scope="module")
def linked(
    aws_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Pipeline, FakePlatforms]]:
    bus, logs = make_bus(aws_endpoint), tmp_path_factory.mktemp("link") / "logs"
    with FakePlatforms() as fake:
        env = {
            "CLAWBUS_SESSION__DM_SCOPE": "per-peer",
            "CLAWBUS_TELEGRAM__BOT_TOKEN": p.BOT_TOKEN,
            "CLAWBUS_TELEGRAM__WEBHOOK_SECRET": TG_SECRET,
            "CLAWBUS_TELEGRAM__BOT_USERNAME": p.BOT_USERNAME,
            "CLAWBUS_TELEGRAM__ALLOW_FROM": json.dumps([f"tg:{USER_TG}"]),
            "CLAWBUS_TELEGRAM__API_BASE": fake.api_base("telegram"),
            "CLAWBUS_WHATSAPP__ACCESS_TOKEN": "wa-link",
            "CLAWBUS_WHATSAPP__PHONE_NUMBER_ID": "106540352242922",
            "CLAWBUS_WHATSAPP__APP_SECRET": WA_SECRET,
            "CLAWBUS_WHATSAPP__VERIFY_TOKEN": "link-verify",
            "CLAWBUS_WHATSAPP__DM_POLICY": "allowlist",
            "CLAWBUS_WHATSAPP__ALLOW_FROM": json.dumps([USER_WA]),
            "CLAWBUS_WHATSAPP__API_BASE": fake.api_base("whatsapp"),
        }
        running = start_pipeline(bus, logs, env, channels=("telegram", "whatsapp", "webchat"))
        try:
            yield running, fake
        finally:
            codes = running.stop()
        assert all(code == 0 for _, code in codes), codes


def telegram_dm(text: str) -> tuple[str, bytes, dict[str, str]]:
    body = json.dumps(p.telegram_message(user_id=USER_TG, chat_id=USER_TG, text=text)).encode()
    return ROUTES["telegram"], body, telegram_headers(TG_SECRET)


def whatsapp_dm(text: str) -> tuple[str, bytes, dict[str, str]]:
    payload = p.whatsapp_message(sender=USER_WA, text=text)
    for change in payload["entry"][0]["changes"]:  # sent just now, not at the fixture's fixed time
        for message in change["value"]["messages"]:
            message["timestamp"] = str(int(time.time()))
    body = json.dumps(payload).encode()
    return ROUTES["whatsapp"], body, whatsapp_headers(WA_SECRET, body)


async def say(
    linked: tuple[Pipeline, FakePlatforms],
    request: tuple[str, bytes, dict[str, str]],
    platform: str,
    wanted: re.Pattern[str],
) -> str:
    """Post a signed webhook; the first answer on `platform` after it that matches `wanted`."""
    pipeline, fake = linked
    before = len(fake.sent(platform))
    path, body, headers = request
    async with httpx.AsyncClient(base_url=pipeline.ingress_url, timeout=15) as client:
        assert (await client.post(path, content=body, headers=headers)).status_code == 200

    async def answer() -> str | None:
        return next((c.text for c in fake.sent(platform)[before:] if wanted.search(c.text)), None)

    return await eventually(answer, timeout=40, interval=0.2, what=f"{wanted.pattern!r} on {platform}")


async def test_after_linking_a_whatsapp_message_lands_in_the_telegram_session(
    linked: tuple[Pipeline, FakePlatforms],
) -> None:
    first = await say(linked, telegram_dm("first, on telegram"), "telegram", re.compile("offline echo"))
    assert first == echo("first, on telegram", 1)
    issued = CODE.search(await say(linked, telegram_dm("/link"), "telegram", CODE))
    assert issued is not None
    redeem = whatsapp_dm(f"/link {issued.group(1)}")
    linked_reply = await say(linked, redeem, "whatsapp", re.compile("Linked"))
    assert linked_reply.strip() == "Linked: this account and your telegram account are now the same person."
    # Turn 2 of the Telegram session: the /link commands were no turns, the WhatsApp DM joins its history.
    after = await say(linked, whatsapp_dm("then, on whatsapp"), "whatsapp", re.compile("offline echo"))
    assert after == echo("then, on whatsapp", 2)


TURN = re.compile(r"turn (\d+)\)")


async def test_after_linking_in_webchat_its_messages_land_in_the_telegram_session(
    linked: tuple[Pipeline, FakePlatforms],
) -> None:
    pipeline, _fake = linked
    said = await say(linked, telegram_dm("on telegram"), "telegram", re.compile("offline echo"))
    before = TURN.search(said)
    assert before is not None
    issued = CODE.search(await say(linked, telegram_dm("/link"), "telegram", CODE))
    assert issued is not None
    async with pipeline.webchat(timeout=30) as client:

        async def answered(count: int) -> list[str] | None:
            got = [m["text"] for m in await replies(client, "laptop")]
            return got if len(got) >= count else None

        await post(client, "laptop", f"/link {issued.group(1)}")
        [linked_reply] = await eventually(lambda: answered(1), timeout=40, interval=0.2, what="link answer")
        assert linked_reply == "Linked: this account and your telegram account are now the same person."
        await post(client, "laptop", "then, in webchat")
        reply = (await eventually(lambda: answered(2), timeout=40, interval=0.2, what="webchat answer"))[1]
    # The next turn of the Telegram session, not turn 1 of a WebChat one; `/link` never reached the agent.
    assert reply == echo("then, in webchat", int(before.group(1)) + 1)
