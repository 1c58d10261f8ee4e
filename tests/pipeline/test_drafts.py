"""Progress drafts on the embedded default (issue 21): a tool-using turn on Telegram and on Slack, and a
Discord slash command with `CLAWBUS_DISCORD__STREAMING=progress`, show one status message that is edited
into the answer, never a second copy; a cold start says "waking up…" first.
Every stage a real process, the platforms' APIs faked on loopback, webhooks signed as the
platforms sign them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from nacl.signing import SigningKey

from clawbus.channels.discord.inbound import signed_headers as discord_headers
from clawbus.channels.slack.inbound import signed_headers as slack_headers
from clawbus.channels.telegram.inbound import signed_headers as telegram_headers
from clawbus.ingress.webhooks import routes
from tests.conftest import ADMIN, Pipeline, make_bus, start_pipeline
from tests.fakes.platforms import Call, FakePlatforms
from tests.helpers import eventually
from tests.ingress import payloads as p

ROUTES = routes()
TG_SECRET = "drafts-telegram-secret"
SLACK_SECRET = "drafts-slack-secret"
OWNER_TG = 4242
OWNER_SLACK = "U0OWNER"
OWNER_DISCORD = "80351110224600001"
DISCORD_KEY = SigningKey(b"d" * 32)


@dataclass
class Drafts:
    pipeline: Pipeline
    fake: FakePlatforms


@pytest.fixture(scope="module")
def drafts(aws_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drafts]:
    bus, logs = make_bus(aws_endpoint), tmp_path_factory.mktemp("drafts") / "logs"
    with FakePlatforms() as fake:
        env = {  # drafts on both channels by default (OpenClaw's `progress`)
            "CLAWBUS_TELEGRAM__BOT_TOKEN": p.BOT_TOKEN,
            "CLAWBUS_TELEGRAM__WEBHOOK_SECRET": TG_SECRET,
            "CLAWBUS_TELEGRAM__BOT_USERNAME": p.BOT_USERNAME,
            "CLAWBUS_TELEGRAM__ALLOW_FROM": json.dumps([f"tg:{OWNER_TG}"]),
            "CLAWBUS_TELEGRAM__API_BASE": fake.api_base("telegram"),
            "CLAWBUS_SLACK__BOT_TOKEN": "xoxb-drafts",
            "CLAWBUS_SLACK__SIGNING_SECRET": SLACK_SECRET,
            "CLAWBUS_SLACK__ALLOW_FROM": json.dumps([OWNER_SLACK]),
            "CLAWBUS_SLACK__API_BASE": fake.api_base("slack"),
            "CLAWBUS_DISCORD__BOT_TOKEN": "discord-drafts",
            "CLAWBUS_DISCORD__APPLICATION_ID": "1100000000000000001",
            "CLAWBUS_DISCORD__PUBLIC_KEY": DISCORD_KEY.verify_key.encode().hex(),
            "CLAWBUS_DISCORD__ALLOW_FROM": json.dumps([OWNER_DISCORD]),
            "CLAWBUS_DISCORD__API_BASE": fake.api_base("discord"),
            "CLAWBUS_DISCORD__STREAMING": "progress",  # off by default, as in OpenClaw
            "CLAWBUS_DISPATCHER__QUEUE__DEBOUNCE_MS": "0",
            # every turn shows its draft at once (the default waits 0.7 s: a quick answer needs none)
            "CLAWBUS_DISPATCHER__DRAFT_AFTER_MS": "0",
            "CLAWBUS_DISPATCHER__COLD_START_MS": "1000",
        }
        agent_env = {"CLAWBUS_AGENT__DEV_TOOL_SYNTAX": "true"}  # `/write {…}` makes the echo call a tool
        channels = ("telegram", "slack", "discord")
        running = start_pipeline(bus, logs, env, channels=channels, agent_env=agent_env)
        try:
            yield Drafts(running, fake)
        finally:
            codes = running.stop()
        assert all(code == 0 for _, code in codes), codes


def _webhook(channel: str, chat: str, text: str) -> tuple[str, bytes, dict[str, str]]:
    if channel == "telegram":
        body = json.dumps(p.telegram_message(user_id=OWNER_TG, chat_id=int(chat), text=text)).encode()
        return ROUTES["telegram"], body, telegram_headers(TG_SECRET)
    body = json.dumps(p.slack_event(text=text, user=OWNER_SLACK, channel=chat)).encode()
    return ROUTES["slack"], body, slack_headers(SLACK_SECRET, body, int(time.time()))


def _chat_of(call: Call) -> str:
    return str(call.body.get("chat_id") or call.body.get("channel"))


async def _say(drafts: Drafts, channel: str, chat: str, text: str, answer: str) -> list[Call]:
    """Send `text` in `chat` and wait until the user sees a message ending in `answer` there; the chat's
    messages."""
    path, body, headers = _webhook(channel, chat, text)
    async with httpx.AsyncClient(base_url=drafts.pipeline.ingress_url, timeout=15) as client:
        assert (await client.post(path, content=body, headers=headers)).status_code == 200

    async def answered() -> list[Call] | None:
        shown = [c for c in drafts.fake.shown(channel) if _chat_of(c) == chat]
        return shown if any(c.text.endswith(answer) for c in shown) else None

    return await eventually(answered, timeout=40, interval=0.2, what=f"the answer on {channel}")


@pytest.mark.parametrize(("channel", "chat"), [("telegram", "70001"), ("slack", "D0DRAFTS")])
async def test_a_tool_using_turn_shows_a_draft_edited_into_the_answer(
    drafts: Drafts, channel: str, chat: str
) -> None:
    write = "/write " + json.dumps({"path": f"notes-{channel}.md", "content": "tea"})
    answer = f"wrote 3 characters to notes-{channel}.md"
    shown = await _say(drafts, channel, chat, write, answer)

    assert [c.text for c in shown] == [answer]  # one message, holding the answer: never a second copy
    assert shown[0].body["text"].startswith("working…")  # posted as the turn's draft
    edits = [c for c in drafts.fake.edits(channel) if _chat_of(c) == chat and not c.refused]
    assert edits[-1].text == answer


async def test_a_cold_start_says_waking_up_before_the_answer(drafts: Drafts) -> None:
    rule = {"delay_s": 2.5, "times": 1}  # AgentCore starting a microVM: no first byte for 2.5 s
    response = httpx.post(f"{drafts.pipeline.agentcore_url}/_clawbus/faults", json=rule, headers=ADMIN)
    assert response.status_code == 201, response.text
    chat = "70002"
    answer = "You said: good morning"  # the echo; its turn number counts the owner's shared DM session
    shown = await _say(drafts, "telegram", chat, "good morning", answer)

    assert len(shown) == 1
    assert shown[0].text.endswith(answer)
    texts = [c.text for c in drafts.fake.edits("telegram") if _chat_of(c) == chat and not c.refused]
    assert "waking up…" in texts
    assert texts[-1] == shown[0].text


async def test_a_discord_slash_commands_thinking_becomes_the_draft_then_the_answer(drafts: Drafts) -> None:
    token = "ZGlzY29yZC1kcmFmdHM"
    write = "/write " + json.dumps({"path": "notes-discord.md", "content": "tea"})
    command = p.discord_command(text=write, user_id=OWNER_DISCORD, token=token)
    body = json.dumps(command).encode()
    async with httpx.AsyncClient(base_url=drafts.pipeline.ingress_url, timeout=15) as client:
        headers = discord_headers(DISCORD_KEY, body, int(time.time()))
        assert (await client.post(ROUTES["discord"], content=body, headers=headers)).status_code == 200
    answer = "wrote 3 characters to notes-discord.md"

    async def answered() -> list[Call] | None:
        shown = drafts.fake.shown("discord")
        return shown if any(c.text.endswith(answer) for c in shown) else None

    shown = await eventually(answered, timeout=40, interval=0.2, what="the answer on discord")
    # one message, the interaction's own: "thinking…" became "working…", then the answer
    assert [(c.method, c.text) for c in shown] == [("original", answer)]
    assert shown[0].body["content"].startswith("working…")
    edits = [c for c in drafts.fake.edits("discord") if not c.refused]
    assert edits[-1].text == answer
    assert drafts.fake.sent("discord") == shown  # no follow-up, no channel message
