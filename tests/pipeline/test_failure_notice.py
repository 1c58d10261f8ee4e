"""A turn the dispatcher gives up tells its user, on the embedded default (every stage a real process,
the loopback AWS API and AgentCore endpoint, the platforms' APIs faked on loopback, webhooks signed as
the platforms sign them).

A Telegram DM whose agent keeps refusing the turn ends in the inbound DLQ with its reason, and the user
reads one short error reply where the turn's "working…" draft was; replaying the letter after the fix
answers it once, as a new message. A group message that did not address the bot gets no error reply
(its draft is deleted); a Slack DM under `CLAWBUS_SLACK__ERROR_POLICY=silent` gets none either."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from clawbus.channels.slack.inbound import signed_headers as slack_headers
from clawbus.channels.telegram.inbound import signed_headers as telegram_headers
from clawbus.dispatcher.core.failure_notice import notice_text
from clawbus.ingress.webhooks import routes
from clawbus.schemas import DmScope, PeerKind, derive_session_key, runtime_session_id
from tests.conftest import ADMIN, Pipeline, make_bus, start_pipeline
from tests.fakes.platforms import Call, FakePlatforms
from tests.helpers import eventually
from tests.ingress import payloads as p
from tests.ops.ops_cli import clawbus

ROUTES = routes()
TG_SECRET = "notice-telegram-secret"
SLACK_SECRET = "notice-slack-secret"
TG_USERS = (5001, 5002)
SLACK_USER = "U0SILENT"
REFUSED = notice_text("the agent could not handle this message")


@dataclass
class Notices:
    pipeline: Pipeline
    fake: FakePlatforms
    data_dir: Path


@pytest.fixture(scope="module")
def notices(aws_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Notices]:
    data_dir = tmp_path_factory.mktemp("notices")
    bus = make_bus(aws_endpoint)
    with FakePlatforms() as fake:
        env = {
            "CLAWBUS_SESSION__DM_SCOPE": "per-channel-peer",  # a session (and a fault rule) per test
            "CLAWBUS_TELEGRAM__BOT_TOKEN": p.BOT_TOKEN,
            "CLAWBUS_TELEGRAM__WEBHOOK_SECRET": TG_SECRET,
            "CLAWBUS_TELEGRAM__BOT_USERNAME": p.BOT_USERNAME,
            "CLAWBUS_TELEGRAM__ALLOW_FROM": json.dumps([f"tg:{u}" for u in TG_USERS]),
            "CLAWBUS_TELEGRAM__GROUP_POLICY": "open",
            "CLAWBUS_TELEGRAM__REQUIRE_MENTION": "false",  # the bot sees group chatter not meant for it
            "CLAWBUS_TELEGRAM__API_BASE": fake.api_base("telegram"),
            "CLAWBUS_SLACK__BOT_TOKEN": "xoxb-notices",
            "CLAWBUS_SLACK__SIGNING_SECRET": SLACK_SECRET,
            "CLAWBUS_SLACK__ALLOW_FROM": json.dumps([SLACK_USER]),
            "CLAWBUS_SLACK__API_BASE": fake.api_base("slack"),
            "CLAWBUS_SLACK__STREAMING": "off",
            "CLAWBUS_SLACK__ERROR_POLICY": "silent",
            "CLAWBUS_DISPATCHER__QUEUE__MODE": "followup",  # one turn per message
            "CLAWBUS_DISPATCHER__DRAFT_AFTER_MS": "0",  # every Telegram turn shows its draft at once
            "CLAWBUS_LOCAL__DATA_DIR": str(data_dir),
        }
        running = start_pipeline(bus, data_dir / "logs", env, channels=("telegram", "slack"))
        try:
            yield Notices(running, fake, data_dir)
        finally:
            codes = running.stop()
        assert all(code == 0 for _, code in codes), codes


def _refuse_turns(notices: Notices, session: str, *, times: int) -> None:
    """The agent refuses the session's next `times` turns (AgentCore 400: dead-lettered at once), each
    after 2 s (so a Telegram turn's draft is up first)."""
    rule = {
        "session_id": runtime_session_id(session),
        "error": "ValidationException",
        "delay_s": 2.0,
        "times": times,
    }
    response = httpx.post(f"{notices.pipeline.agentcore_url}/_clawbus/faults", json=rule, headers=ADMIN)
    assert response.status_code == 201, response.text


async def _post(notices: Notices, route: str, body: bytes, headers: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=notices.pipeline.ingress_url, timeout=15) as client:
        assert (await client.post(route, content=body, headers=headers)).status_code == 200


async def _telegram(notices: Notices, chat: int, text: str, **message: Any) -> None:
    update = p.telegram_message(chat_id=chat, text=text, **message)
    await _post(notices, ROUTES["telegram"], json.dumps(update).encode(), telegram_headers(TG_SECRET))


async def _dead_letter_of(notices: Notices, session: str) -> dict[str, Any]:
    """The session's letter on the inbound DLQ, as `clawbus dlq list` shows it (waited for)."""

    async def listed() -> dict[str, Any] | None:
        ran = clawbus(notices.pipeline.bus, notices.data_dir, "dlq", "list", "inbound", "--json")
        assert ran.code == 0, ran.err
        return next((x for x in ran.json()["letters"] if x["session"] == session), None)

    return await eventually(listed, timeout=40, interval=0.5, what=f"a dead letter of {session}")


def _dm_session(channel: str, user: str) -> str:
    return derive_session_key(
        agent_id="main",
        channel=channel,
        peer_kind=PeerKind.DIRECT,
        peer_id=user,
        dm_scope=DmScope.PER_CHANNEL_PEER,
    )


def _in_chat(calls: list[Call], chat: str) -> list[Call]:
    return [c for c in calls if str(c.body.get("chat_id") or c.body.get("channel")) == chat]


async def _shown_once(notices: Notices, platform: str, chat: str, ending: str) -> list[Call]:
    """Wait until the chat shows a message ending in `ending`; the chat's messages then."""

    async def shown() -> list[Call] | None:
        calls = _in_chat(notices.fake.shown(platform), chat)
        return calls if any(c.text.endswith(ending) for c in calls) else None

    return await eventually(shown, timeout=40, interval=0.2, what=f"{ending!r} in {platform} chat {chat}")


async def test_a_dm_whose_agent_refuses_the_turn_reads_one_error_in_its_draft_and_a_replay_answers_once(
    notices: Notices,
) -> None:
    user = TG_USERS[0]
    session = _dm_session("telegram", str(user))
    _refuse_turns(notices, session, times=-1)  # until the fix
    await _telegram(notices, user, "book a table", user_id=user)

    letter = await _dead_letter_of(notices, session)
    assert letter["error_type"] == "AgentRejected"
    shown = await _shown_once(notices, "telegram", str(user), REFUSED)
    assert [c.text for c in shown] == [REFUSED]  # one message: the draft, turned into the error
    assert shown[0].body["text"].startswith("working…")

    httpx.delete(f"{notices.pipeline.agentcore_url}/_clawbus/faults", headers=ADMIN)  # the fix
    ran = clawbus(notices.pipeline.bus, notices.data_dir, "dlq", "replay", "inbound", "--session", session)
    assert ran.code == 0, ran.err
    answer = "You said: book a table"
    shown = await _shown_once(notices, "telegram", str(user), answer)
    assert shown[0].text == REFUSED  # the error stays where the user read it
    assert [c.text.endswith(answer) for c in shown] == [False, True]  # the answer, once, as a new message


async def test_a_group_message_not_addressed_to_the_bot_gets_no_error_reply_and_no_draft_left(
    notices: Notices,
) -> None:
    group = -6001
    session = derive_session_key(
        agent_id="main", channel="telegram", peer_kind=PeerKind.GROUP, peer_id=str(group)
    )
    _refuse_turns(notices, session, times=1)
    await _telegram(notices, group, "anyone up for lunch?", user_id=TG_USERS[1], chat_type="group")
    assert (await _dead_letter_of(notices, session))["error_type"] == "AgentRejected"

    # Then a message that addresses the bot: its answer comes after anything the failed turn sent.
    await _telegram(notices, group, "what's the time?", user_id=TG_USERS[1], chat_type="group", mention=True)
    shown = await _shown_once(notices, "telegram", str(group), "You said: @clawbus_bot what's the time?")
    assert len(shown) == 1  # only the answer: no error reply, and the failed turn's draft was deleted
    failed_drafts = [c for c in _in_chat(notices.fake.sent("telegram"), str(group)) if c.deleted]
    assert [c.body["text"] for c in failed_drafts] == ["working…"]


async def test_a_slack_dm_under_error_policy_silent_gets_no_error_reply(notices: Notices) -> None:
    session = _dm_session("slack", SLACK_USER)
    _refuse_turns(notices, session, times=1)
    chat = "D0SILENT"
    for text in ("first", "second"):
        body = json.dumps(p.slack_event(text=text, user=SLACK_USER, channel=chat)).encode()
        await _post(notices, ROUTES["slack"], body, slack_headers(SLACK_SECRET, body, int(time.time())))
        if text == "first":
            assert (await _dead_letter_of(notices, session))["error_type"] == "AgentRejected"

    shown = await _shown_once(notices, "slack", chat, "You said: second")
    assert len(shown) == 1  # the second message's answer, and nothing for the first
